"""Count the parameters and FLOPs of a config's image model with fvcore.

Examples:
    python tools/analysis_tools/get_flops.py configs/classification/sf-b_augreg_in1k.py
    python tools/analysis_tools/get_flops.py configs/classification/sf-l_clip_in1k-zeroshot.py \
        --shape 224 224 --attention count
    python tools/analysis_tools/get_flops.py configs/classification/sf-v1-t_in1k.py \
        --baddbmm count

Prints exactly two lines on stdout::

    Params: <x> M
    FLOPs: <y> G

What is counted (the full rules are in ``sfmm/utils/flops.py``):

- The model is built from the config with every checkpoint ``init_cfg`` dropped (nothing is
  loaded; the count does not depend on weights), in eval mode, on one random image of
  ``--shape`` (default 224x224).
- The traced path is the inference image path, ``model(x, mode='tensor')``: backbone (+ neck)
  + head logits. For an AugReg classifier that is backbone + the 1000-way classifier; for a
  CLIP zero-shot model it is the image tower up to its projection plus the (E x classes)
  product with cached class embeddings (random here); the text tower is never run or counted.
- Params: every registered parameter of the model (the zero-shot head's text tower is not
  part of the module tree, so a CLIP model counts its image tower only).
- FLOPs follow fvcore: one fused multiply-add = one FLOP (Linear ``T*i*o``, conv
  ``out*Cin*k*k``, matmul/bmm/einsum by shape), LayerNorm 5 per element, bilinear
  ``grid_sample`` 4 per output element; activations, softmax and additions are free.
- The model is the plain one (no :func:`sfmm.apis.optimize_for_inference`), and the trace
  runs with PyTorch's MHA fast path off, so open_clip's ``nn.MultiheadAttention`` runs its
  plain, countable ops.
- Attention: fvcore has no handle for ``aten::scaled_dot_product_attention``.
  ``--attention skip`` (default) leaves it out, as plain fvcore does: this is the convention
  of SPEC's reference table for the released SparseFormers, which the full models match to
  0.05% (SF-B 3.75, SF-L 11.27, SF-B CLIP 3.75, SF-L CLIP 64 tokens 14.69 G).
  ``--attention count`` adds it as its two products (``q @ k^T`` + ``attn @ v``), so fused
  and explicit attention cost the same; this gives the paper's figures (SF-B 3.8 G, SF-L
  11.4 G, SF-L CLIP 14.8 G, ViT-B/16 17.5 G (17.58), ViT-L/16 61.6 G).
- Biased adaptive mixing: the v1 SparseFormers mix with ``torch.baddbmm``, which fvcore
  has no handle for either. ``--baddbmm skip`` (default) leaves it out, as plain fvcore does
  (the convention of the released v1 models' reference figures: SF-v1-T 2.048, S 3.803,
  B 7.698 G); ``--baddbmm count`` counts it as its batched product, like ``bmm``.
- The architecture is counted in full by default: every SparseFormer is built with
  ``cls_only_last_block=False``. The classification, bootstrap, zero-shot and retrieval
  configs set ``cls_only_last_block=True`` (the last cortex block computes the [CLS] row
  only: same logits, fewer FLOPs); ``--executed`` keeps the config's setting and counts
  what actually runs.
"""
import argparse
import sys
import warnings
from typing import List, Optional, Sequence

from mmengine.config import Config, DictAction


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Count params and FLOPs of a config')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--shape', type=int, nargs='+', default=[224, 224],
                        help='input size: H W, or one value for a square input')
    parser.add_argument('--attention', choices=['count', 'skip'], default='skip',
                        help='skip scaled-dot-product attention as plain fvcore does '
                        "(default, SPEC's convention) or count it as its two matmuls")
    parser.add_argument('--baddbmm', choices=['count', 'skip'], default='skip',
                        help="skip torch.baddbmm (the v1 SparseFormers' biased mixing) as "
                        'plain fvcore does (default) or count it like bmm')
    parser.add_argument('--executed', action='store_true',
                        help="count what runs: keep the config's cls_only_last_block (the "
                        'last block of such a SparseFormer computes only its [CLS] row)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys (applied last)')
    args = parser.parse_args(argv)
    if len(args.shape) == 1:
        args.shape = args.shape * 2
    if len(args.shape) != 2:
        parser.error('--shape takes one or two integers')
    return args


def get_flops(config: str, shape: Sequence[int] = (224, 224), attention: str = 'skip',
              cfg_options: Optional[dict] = None, executed: bool = False,
              baddbmm: str = 'skip'):
    """Build the config's model and count it.

    Args:
        config (str): config file path.
        shape (Sequence[int]): input ``(H, W)``. Defaults to ``(224, 224)``.
        attention (str): ``'count'`` or ``'skip'``. Defaults to ``'skip'``.
        cfg_options (dict, optional): config overrides. Defaults to None.
        executed (bool): Count the executed path instead of the full architecture (see
            :func:`full_architecture_cfg`). Defaults to False.
        baddbmm (str): ``'count'`` or ``'skip'`` for ``torch.baddbmm``. Defaults to ``'skip'``.

    Returns:
        tuple[int, int, dict]: FLOPs per image, parameters, ops fvcore skipped.
    """
    from sfmm.utils.flops import image_flops_params
    from sfmm.utils.model_builder import build_model_from_cfg

    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if not executed:
        full_architecture_cfg(cfg.model)
    model = build_model_from_cfg(cfg)
    return image_flops_params(model, shape=shape, attention=attention, baddbmm=baddbmm)


def full_architecture_cfg(node) -> None:
    """Set ``cls_only_last_block=False`` in every SparseFormer config under ``node``.

    Such a SparseFormer then computes every token of its last cortex block, as the full
    architecture does. Works in place on nested dicts and lists, before the model is built.
    """
    if isinstance(node, dict):
        if node.get('type') in ('sfmm.SparseFormer', 'SparseFormer') and node.get(
                'cls_only_last_block', False):
            node['cls_only_last_block'] = False
        for value in node.values():
            full_architecture_cfg(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            full_architecture_cfg(value)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        flops, params, skipped = get_flops(args.config, args.shape, args.attention,
                                           args.cfg_options, args.executed, args.baddbmm)
    print(f'Params: {params / 1e6:.6g} M')
    print(f'FLOPs: {flops / 1e9:.6g} G')
    print(f'input {args.shape[0]}x{args.shape[1]}, attention={args.attention}, '
          f'baddbmm={args.baddbmm}, '
          f'{"executed path" if args.executed else "full architecture"}; ops without '
          f'a FLOP handle (not counted): {dict(sorted(skipped.items())) or "none"}',
          file=sys.stderr)


if __name__ == '__main__':
    main()
