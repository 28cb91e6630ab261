"""Use a CLIP-bootstrapped SparseFormer where CLIP is used today: open_clip and LLaVA-style MLLMs.

Paper: "Bootstrapping SparseFormers from Vision Foundation Models", sec. 4.2-4.3
(https://arxiv.org/abs/2312.01987). A SparseFormer bootstrapped from a CLIP visual tower
outputs an image embedding in that CLIP's space (its final norm and projection are CLIP's),
so it can replace ``model.visual`` of the open_clip model it came from, with the text
tower, tokenizer, preprocessing and zero-shot utilities unchanged; and its final token
sequence can feed a LLaVA-style projector in place of CLIP's patch tokens.
"""
import copy
from typing import Optional, Tuple, Union

import torch
from torch import nn

Tensor = torch.Tensor


class SparseFormerVisual(nn.Module):
    """A SparseFormer with the attributes open_clip reads from ``CLIP.visual``.

    ``forward`` returns the SparseFormer's ``'embed'`` output (``(B, E)``), as a CLIP visual
    tower does. ``image_size``, ``output_dim``, ``preprocess_cfg``, ``image_mean`` and
    ``image_std`` are what open_clip's transforms (``image_transform_v2``,
    ``get_model_preprocess_cfg``) and ``create_model_and_transforms`` read; they are copied
    from the tower being replaced, so the original preprocessing keeps working.

    Args:
        sparseformer (nn.Module): An ``sfmm.SparseFormer`` with a projection (CLIP arch),
            built with its embedding head (``'embed'`` in ``out_keys``); best with
            ``cls_only_last_block=True``, which computes the same embedding faster.
        image_size (int | tuple[int, int]): Input size the preprocessing produces.
        output_dim (int): Embedding width ``E``.
        preprocess_cfg (dict, optional): open_clip preprocessing config (``size``,
            ``mean``, ``std``, ``interpolation``, ``resize_mode``, ...). Defaults to None.
    """

    output_tokens = False

    def __init__(self,
                 sparseformer: nn.Module,
                 image_size: Union[int, Tuple[int, int]],
                 output_dim: int,
                 preprocess_cfg: Optional[dict] = None) -> None:
        super().__init__()
        out_keys = tuple(getattr(sparseformer, 'out_keys', ()))
        if 'embed' not in out_keys:
            raise ValueError(f"the SparseFormer must output 'embed' (out_keys={out_keys}): "
                             f"build it with its embedding head ('embed' in out_keys)")
        self.sparseformer = sparseformer
        self.image_size = image_size
        self.output_dim = output_dim
        self.preprocess_cfg = copy.deepcopy(preprocess_cfg) if preprocess_cfg else {}
        if self.preprocess_cfg:
            self.image_mean = self.preprocess_cfg.get('mean')
            self.image_std = self.preprocess_cfg.get('std')
        self._embed_index = out_keys.index('embed')

    def forward(self, x: Tensor) -> Tensor:
        """Images ``(B, 3, H, W)`` (CLIP-normalised) -> image embeddings ``(B, E)``."""
        return self.sparseformer(x)[self._embed_index]

    def lock(self, unlocked_groups: int = 0, freeze_bn_stats: bool = False) -> None:
        """Freeze every parameter (open_clip's ``lock_image_tower``); partial unlocking of
        trailing groups is not supported."""
        if unlocked_groups:
            raise NotImplementedError('SparseFormerVisual.lock: unlocked_groups must be 0')
        self.requires_grad_(False)

    @torch.jit.ignore
    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Accepted for open_clip's API; the SparseFormer does not checkpoint activations."""
        if enable:
            raise NotImplementedError('gradient checkpointing is not implemented for '
                                      'SparseFormer')


def replace_open_clip_visual(clip_model: nn.Module, sparseformer: nn.Module,
                             image_size: Optional[Union[int, Tuple[int, int]]] = None
                             ) -> nn.Module:
    """Put a CLIP-bootstrapped SparseFormer in place of ``clip_model.visual``, in place.

    After the call ``clip_model.encode_image`` (and ``forward`` / ``get_logits``) runs the
    SparseFormer; ``encode_text``, the tokenizer, the model's preprocessing transforms and
    ``open_clip.build_zero_shot_classifier`` are unchanged, since the SparseFormer's
    embedding lives in the CLIP space it was bootstrapped into.

    Args:
        clip_model (nn.Module): An open_clip ``CLIP`` / ``CustomTextCLIP`` (the model the
            SparseFormer was bootstrapped from).
        sparseformer (nn.Module): ``sfmm.SparseFormer`` (CLIP arch, weights loaded), built
            with ``'embed'`` in ``out_keys`` (ideally ``cls_only_last_block=True``); it is
            not reconfigured.
        image_size (int | tuple, optional): Input size; None keeps the replaced tower's
            (e.g. 224, or 336 for ViT-L-14-336). Defaults to None.

    Returns:
        nn.Module: ``clip_model``, whose ``visual`` is now a :class:`SparseFormerVisual`.

    Raises:
        ValueError: If the embedding widths of the SparseFormer and the CLIP model differ,
            or the SparseFormer does not output ``'embed'``.
    """
    out_keys = tuple(getattr(sparseformer, 'out_keys', ()))
    if 'embed' not in out_keys:
        raise ValueError(f"the SparseFormer must output 'embed' (out_keys={out_keys}): "
                         f"build it with its embedding head ('embed' in out_keys)")
    old = clip_model.visual
    embed_dim = getattr(old, 'output_dim', None)
    proj = getattr(sparseformer, 'proj', None)
    sf_dim = proj.out_features if proj is not None else getattr(sparseformer, 'embed_dims', None)
    if embed_dim is not None and sf_dim != embed_dim:
        raise ValueError(f'the SparseFormer embeds into {sf_dim} dims but the CLIP model into '
                         f'{embed_dim}: bootstrap it from this CLIP (a CLIP arch with '
                         'proj_dims equal to the CLIP embed_dim)')
    from open_clip.model import get_model_preprocess_cfg
    preprocess_cfg = dict(get_model_preprocess_cfg(clip_model))
    size = image_size if image_size is not None else getattr(old, 'image_size', None)
    if size is None:
        raise ValueError('image_size is unknown: pass it explicitly')
    if image_size is not None:
        preprocess_cfg['size'] = image_size
    new = SparseFormerVisual(sparseformer, size, sf_dim, preprocess_cfg)
    param = next(old.parameters(), None)
    if param is not None:
        new.to(param.device)
    new.train(old.training)
    clip_model.visual = new
    return clip_model


def _find_sparseformer(model: nn.Module) -> nn.Module:
    if isinstance(model, SparseFormerVisual):
        return model.sparseformer
    visual = getattr(model, 'visual', None)
    if isinstance(visual, SparseFormerVisual):
        return visual.sparseformer
    if hasattr(model, 'blocks') and hasattr(model, 'cls_token'):
        return model
    backbone = getattr(model, 'backbone', None)
    if backbone is not None and hasattr(backbone, 'blocks'):
        return backbone
    raise TypeError(f'no SparseFormer found in {type(model).__name__}')


def sparseformer_llava_features(model: nn.Module, images: Tensor, with_cls: bool = False,
                                layer: int = -1) -> Tensor:
    """Visual tokens for a LLaVA-style projector: ``(B, N, D)``, or ``(B, 1 + N, D)``.

    LLaVA feeds the hidden states of one CLIP ViT layer (``mm_vision_select_layer``, -2 by
    default, patch tokens only: ``mm_vision_select_feature='patch'``) through its projector.
    A SparseFormer bootstrapped from that CLIP has the same width ``D`` and, since its cortex
    block ``k`` is CLIP block ``truncate + k``, its block ``layer`` plays CLIP's block
    ``layer``: ``layer=-2, with_cls=False`` gives what LLaVA's default expects, with ``N``
    (e.g. 48 or 63) tokens instead of 256 / 576. Tokens are taken before the final norm,
    like Hugging Face CLIP's ``hidden_states``; ``layer=-1`` is the backbone's ``'tokens'``
    output. Every token of the blocks up to ``layer`` is computed
    (``SparseFormer.forward_cortex_tokens``), whatever the model's ``out_keys``; they are
    not changed.

    Args:
        model (nn.Module): An ``sfmm.SparseFormer``, a :class:`SparseFormerVisual`, an
            open_clip model whose ``visual`` is one, or a model with a SparseFormer
            ``backbone``.
        images (Tensor): ``(B, 3, H, W)``, normalised as the SparseFormer expects.
        with_cls (bool): Keep the [CLS] token (first). Defaults to False.
        layer (int): Cortex block whose output is returned (Python indexing over
            ``model.blocks``). Defaults to -1 (the last).

    Returns:
        Tensor: ``(B, N, D)`` latent tokens (``(B, 1 + N, D)`` with [CLS] first if
        ``with_cls``).
    """
    sf = _find_sparseformer(model)
    num_blocks = len(sf.blocks)
    if not -num_blocks <= layer < num_blocks:
        raise IndexError(f'layer {layer} out of range for {num_blocks} cortex blocks')
    if not hasattr(sf, 'forward_cortex_tokens'):
        raise TypeError(f'{type(sf).__name__} has no forward_cortex_tokens()')
    index = layer % num_blocks
    tokens = sf.forward_cortex_tokens(images, depth=index + 1)[index]
    return tokens if with_cls else tokens[:, 1:]


__all__ = ['SparseFormerVisual', 'replace_open_clip_visual', 'sparseformer_llava_features']
