"""Export a config's image model to ONNX, check it with onnx.checker and ONNX Runtime.

Usage:
    python tools/deployment/pytorch2onnx.py CONFIG [CKPT] --shape H [W] --out FILE \
        [--batch-size B] [--dynamic-batch] [--opset 18] \
        [--task auto|classifier|zero-shot|segmenter] [--with-embedding] \
        [--cfg-options k=v ...] [--no-verify]

Examples:
    python tools/deployment/pytorch2onnx.py configs/classification/sf-b_augreg_in1k.py \
        sf-b.pth --shape 224 224 --dynamic-batch --out work_dirs/onnx/sf-b_augreg_in1k.onnx
    python tools/deployment/pytorch2onnx.py configs/segmentation/sf-demo_demo-ade.py \
        work_dirs/demo_seg/iter_1000.pth --shape 64 64 --out work_dirs/onnx/sf-demo_seg.onnx

The model is built with ``sfmm.apis.init_model`` (CKPT loaded strictly; without CKPT the
config's own initialisation runs) and wrapped by ``sfmm.deployment.build_export_model``:
classifier -> ``logits (B, K)``; zero-shot image tower -> ``logits (B, K)`` against the class
embeddings cached from the text tower (which is not exported), plus ``embedding (B, E)`` with
``--with-embedding``; segmenter -> ``logits (B, K, H, W)`` resized to the input (argmax is the
mask). The graph input ``input`` is the *normalised* batch (the data preprocessor's output).
Opset 18 or newer only (see ``sfmm/deployment/onnx.py`` for why not 16/17).

With verification (the default; ``--no-verify`` skips it) ONNX Runtime runs a random batch
(and, with ``--dynamic-batch``, a batch of B+1 too) and the tool prints the maximum relative
error against PyTorch (``max|ort - torch| / max|torch|``) and, for segmenters, whether the
argmax masks are equal. It exits non-zero if the error exceeds ``--rtol`` (1e-4) or a mask
pixel differs other than at a near tie of two classes' logits.
"""
import argparse
import os.path as osp
from typing import Any, Dict, List, Optional

import torch
from mmengine.config import DictAction


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    from sfmm.deployment import MIN_OPSET, TASKS, check_opset

    parser = argparse.ArgumentParser(description='Export an sfmm model to ONNX')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', nargs='?', default=None,
                        help='checkpoint file (loaded strictly); default: the config\'s '
                        'own initialisation')
    parser.add_argument('--shape', type=int, nargs='+', required=True,
                        help='input size: H W, or one value for a square input')
    parser.add_argument('--out', required=True, help='the .onnx file to write')
    parser.add_argument('--batch-size', type=int, default=1, help='batch of the export example')
    parser.add_argument('--dynamic-batch', action='store_true',
                        help='make the batch dimension symbolic (any batch size runs)')
    parser.add_argument('--opset', type=int, default=MIN_OPSET,
                        help=f'ONNX opset (>= {MIN_OPSET})')
    parser.add_argument('--task', choices=TASKS, default='auto', help='what to export')
    parser.add_argument('--with-embedding', action='store_true',
                        help='zero-shot: also output the normalised image embedding')
    parser.add_argument('--verify', action=argparse.BooleanOptionalAction, default=True,
                        help='compare ONNX Runtime with PyTorch on a random batch')
    parser.add_argument('--rtol', type=float, default=1e-4,
                        help='largest accepted relative error of --verify')
    parser.add_argument('--seed', type=int, default=0, help='seed of the random batch')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys (applied last)')
    args = parser.parse_args(argv)
    if len(args.shape) == 1:
        args.shape = args.shape * 2
    if len(args.shape) != 2 or min(args.shape) < 1:
        parser.error(f'--shape takes one or two positive integers, got {args.shape}')
    if args.batch_size < 1:
        parser.error(f'--batch-size must be >= 1, got {args.batch_size}')
    try:
        check_opset(args.opset)
    except ValueError as e:
        parser.error(f'--opset: {e}')
    return args


def verify(model: torch.nn.Module, path: str, batches: List[int], shape: List[int],
           segmenter: bool, seed: int = 0) -> List[Dict[str, Any]]:
    """Run ``model`` and ONNX Runtime on random batches; one comparison dict per batch size
    (:func:`sfmm.deployment.compare_outputs`, plus ``batch``)."""
    from sfmm.deployment import OnnxRuntimeModule, compare_outputs

    runtime = OnnxRuntimeModule(path)
    generator = torch.Generator().manual_seed(seed)
    results = []
    for batch in batches:
        x = torch.randn(batch, 3, *shape, generator=generator)
        with torch.no_grad():
            reference = model(x)
        result = compare_outputs(reference, runtime(x), masks=segmenter)
        results.append(dict(result, batch=batch))
    return results


def main(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    args = parse_args(argv)
    from sfmm.deployment import build_export_model, export_onnx

    model = build_export_model(args.config, args.checkpoint, task=args.task,
                               cfg_options=args.cfg_options,
                               with_embedding=args.with_embedding)
    task, names = model.task, list(model.output_names)
    if task == 'segmenter':
        test_cfg = getattr(model.model, 'test_cfg', None) or {}
        if test_cfg.get('mode', 'whole') != 'whole':
            print(f'note: the config tests with mode={test_cfg.get("mode")!r}; the ONNX graph '
                  f'runs whole-image inference at {args.shape[0]}x{args.shape[1]}')
    inputs = torch.randn(args.batch_size, 3, *args.shape,
                         generator=torch.Generator().manual_seed(args.seed))
    path = export_onnx(model, inputs, args.out, dynamic_batch=args.dynamic_batch,
                       opset=args.opset, output_names=names)
    batch = 'B' if args.dynamic_batch else str(args.batch_size)
    print(f'exported {task} ({", ".join(names)}) to {path}: opset {args.opset}, input '
          f'({batch}, 3, {args.shape[0]}, {args.shape[1]}), '
          f'{osp.getsize(path) / 2**20:.1f} MiB; onnx.checker passed')
    summary: Dict[str, Any] = dict(path=path, task=task, output_names=names, verified=[])
    if not args.verify:
        return summary

    batches = [args.batch_size] + ([args.batch_size + 1] if args.dynamic_batch else [])
    results = verify(model, path, batches, args.shape, task == 'segmenter', args.seed)
    summary['verified'] = results
    failed = []
    for res in results:
        line = (f'onnxruntime vs pytorch, batch {res["batch"]}: max relative error '
                f'{res["max_rel_error"]:.3e}')
        if 'mask_equal' in res:
            line += (f', argmax masks equal: {res["mask_equal"]} ({res["mask_mismatch"]} '
                     f'pixels differ, {res["mask_mismatch_beyond_ties"]} beyond near ties)')
        print(line)
        if res['max_rel_error'] > args.rtol or res.get('mask_mismatch_beyond_ties', 0):
            failed.append(res['batch'])
    if failed:
        raise SystemExit(f'verification failed for batch size(s) {failed}: relative error '
                         f'above {args.rtol:g} or differing masks ({path})')
    return summary


if __name__ == '__main__':
    main()
