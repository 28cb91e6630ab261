"""Small, named steps that transform state dicts on their way from a file into a module.

Each step takes a state dict (name -> tensor) and returns a new one; none reads a file or
touches a module's weights. :func:`sfmm.weights.load_pretrained` chains the generic ones
(released-layout conversion, prefix filter, a module's own ``checkpoint_filter_fn``, dropped
parts, token extension, position-embedding resize); the key maps of foreign layouts (timm,
AugReg ``.npz``, open_clip, mmpretrain) are what the teachers' and the CLIP text encoder's
``checkpoint_filter_fn`` call. Teacher -> student inheritance is :func:`inherit_from_teacher`.

The key-map tables themselves live in :mod:`sfmm.models.utils` (``sparseformer_official``,
``inherit``, ``extend_tokens``); they are imported when a step runs, so importing this
package never imports a model.
"""
import copy
import io
import math
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

Tensor = torch.Tensor
State = Dict[str, Tensor]

#: A key only the released showlab/sparseformer layout has (its early convolution).
RELEASED_MARKER = 'feat_extractor.conv1.weight'
# keys of a full open_clip / OpenAI CLIP state dict that are not part of the text tower
_NON_TEXT_PREFIXES = ('visual.', )
_NON_TEXT_KEYS = ('logit_scale', 'logit_bias', 'input_resolution', 'context_length',
                  'vocab_size', 'attn_mask')


# ----------------------------------------------------------------------------- generic
def filter_prefix(state: State, prefix: Optional[str], source: str = 'checkpoint') -> State:
    """Keep the keys starting with ``prefix``, stripped of it.

    Args:
        state (dict): A state dict.
        prefix (str, optional): E.g. ``'backbone.'``. None or '' keeps every key.
        source (str): The file, for the error message. Defaults to 'checkpoint'.

    Raises:
        KeyError: If no key starts with ``prefix`` (naming ``source`` and the first keys).
    """
    if not prefix:
        return dict(state)
    kept = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    if not kept:
        raise KeyError(f'{source}: no checkpoint key starts with prefix {prefix!r}; first '
                       f'keys: {list(state)[:10]}')
    return kept


def add_prefix(state: State, prefix: str) -> State:
    """Every key with ``prefix`` in front (a submodule's keys as its parent names them)."""
    return {prefix + k: v for k, v in state.items()}


def drop_prefixes(state: State, prefixes: Sequence[str]) -> State:
    """Remove the keys starting with any of ``prefixes``."""
    return {k: v for k, v in state.items() if not k.startswith(tuple(prefixes))}


def float_tensors(state: State) -> State:
    """Floating-point tensors in float32 (e.g. OpenAI's fp16 CLIP archives); others as they are."""
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def is_released_sparseformer(state: State) -> bool:
    """Whether ``state`` is a released showlab/sparseformer ("v2 converted") state dict."""
    return RELEASED_MARKER in state


def convert_released(state: State) -> Tuple[State, bool]:
    """Released showlab/sparseformer layout -> sfmm ``ImageClassifier`` keys, if it is one.

    See :func:`sfmm.models.utils.convert_sparseformer_official` (every released key must be
    mapped). Other state dicts are returned unchanged.

    Returns:
        tuple: ``(state, converted)``.
    """
    if not is_released_sparseformer(state):
        return state, False
    from sfmm.models.utils.sparseformer_official import convert_sparseformer_official
    return convert_sparseformer_official(state), True


def drop_parts(state: State, parts: Iterable[str], own: State,
               droppable: Optional[Sequence[str]] = None) -> State:
    """Remove the checkpoint keys of named top-level parts that the module does not build.

    Args:
        state (dict): The (prefix-filtered) checkpoint state.
        parts (Iterable[str]): Top-level names, e.g. ``('norm', 'proj')`` for a SparseFormer
            built without ``'embed'``.
        own (dict): The module's own state dict.
        droppable (Sequence[str], optional): The names the module allows to drop (its
            ``droppable_parts``); None allows any part it does not build. Defaults to None.

    Raises:
        ValueError: If a name is not droppable, or is a part the module builds (its keys
            would then be missing, not dropped).
    """
    parts = (parts, ) if isinstance(parts, str) else tuple(parts)
    unknown = [p for p in parts if droppable is not None and p not in droppable]
    built = sorted({k.split('.', 1)[0] for k in own} & set(parts))
    if unknown or built:
        allowed = list(droppable) if droppable is not None else 'parts it does not build'
        raise ValueError(f'drop_keys {list(parts)}: only parts the model does not build can be '
                         f'dropped, from {allowed}; unknown {unknown}, built {built}')
    return {k: v for k, v in state.items() if k.split('.', 1)[0] not in parts}


def extend_tokens(state: State, own: State) -> Tuple[State, List[str]]:
    """Give a SparseFormer checkpoint as many latent tokens as the module has.

    The learned initial RoIs are kept and grid RoIs added
    (:func:`sfmm.models.utils.extend_tokens.extend_latent_tokens`). A state without
    ``init_rois.weight`` is returned unchanged (the strict load then reports it).

    Returns:
        tuple: ``(state, notes)``.
    """
    from sfmm.models.utils.extend_tokens import ROI_KEY, extend_latent_tokens
    if ROI_KEY not in state or ROI_KEY not in own:
        return dict(state), []
    return extend_latent_tokens(state, own, prefix='')


def resize_pos_embed(state: State, own: State, key: str = 'pos_embed',
                     num_prefix_tokens: int = 1, mode: str = 'bicubic') -> Tuple[State, List[str]]:
    """Interpolate a ViT's absolute position embedding to the module's (square) grid.

    ``(1, P + h*w, C)`` -> ``(1, P + H*W, C)``: the ``P`` prefix rows ([CLS]) are kept, the
    grid is resized with ``F.interpolate(mode, align_corners=False)``, as mmseg's
    ``VisionTransformer.resize_pos_embed`` does when it loads a 224px checkpoint at 512px.

    Returns:
        tuple: ``(state, notes)``.

    Raises:
        ValueError: If either grid is not square.
    """
    if key not in state or key not in own or state[key].shape == own[key].shape:
        return dict(state), []
    src, dst = state[key], own[key]
    sizes = []
    for t in (src, dst):
        n = t.shape[1] - num_prefix_tokens
        side = math.isqrt(n)
        if side * side != n:
            raise ValueError(f'{key}: {tuple(t.shape)} is not {num_prefix_tokens} prefix rows '
                             f'plus a square grid')
        sizes.append(side)
    (h, H), dim = sizes, src.shape[2]
    grid = src[:, num_prefix_tokens:].reshape(1, h, h, dim).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=(H, H), mode=mode, align_corners=False)
    grid = grid.flatten(2).transpose(1, 2)
    out = dict(state)
    out[key] = torch.cat([src[:, :num_prefix_tokens], grid], dim=1).to(src.dtype)
    return out, [f'{key}: resized {h}x{h} -> {H}x{H} ({mode})']


# ----------------------------------------------------------------------------- key maps
def timm_vit_keys(state: State, model: torch.nn.Module) -> State:
    """A timm ViT state dict (``.pth`` / ``.safetensors``) through timm's own
    ``checkpoint_filter_fn`` for ``model`` (a ``timm`` ``VisionTransformer``)."""
    from timm.models.vision_transformer import checkpoint_filter_fn
    return dict(checkpoint_filter_fn(state, model))


def is_jax_npz(state: State) -> bool:
    """Whether ``state`` has the names of an original JAX/Flax ViT ``.npz``
    (``Transformer/encoderblock_0/...``; torch state dicts never name keys with ``/``)."""
    return any('/' in k for k in state)


def timm_npz_keys(arrays: State, model: torch.nn.Module) -> State:
    """An original AugReg / big_vision ``.npz`` (JAX names) -> ``model``'s timm state dict.

    timm's public npz loader (``VisionTransformer.load_pretrained``, which reads the archive
    with ``np.load``) fills a scratch copy of ``model``; it skips what it does not find, so
    every parameter is first set to NaN and any parameter still NaN afterwards is an error.
    Written against timm 1.0 (``load_pretrained(checkpoint_path, prefix='')``).

    Raises:
        RuntimeError: Naming the parameters the archive did not provide.
    """
    import numpy as np
    buffer = io.BytesIO()
    np.savez(buffer, **{k: v.numpy() for k, v in arrays.items()})
    buffer.seek(0)
    scratch = copy.deepcopy(model)
    with torch.no_grad():
        for p in scratch.parameters():
            p.fill_(float('nan'))
        scratch.load_pretrained(buffer)
    missing = [n for n, p in scratch.named_parameters() if torch.isnan(p).any()]
    if missing:
        raise RuntimeError(f'the .npz archive did not provide these parameters of '
                           f'{type(model).__name__}: {missing}')
    return scratch.state_dict()


def open_clip_visual_keys(state: State) -> State:
    """A CLIP visual tower's keys, as open_clip's ``visual`` module names them, in float32.

    A full CLIP state dict (``visual.*`` keys, OpenAI or open_clip) keeps only ``visual.*``
    (stripped); a visual-only state dict is taken as it is.
    """
    if any(k.startswith('visual.') for k in state):
        state = filter_prefix(state, 'visual.')
    return float_tensors(state)


def open_clip_text_keys(state: State) -> Tuple[State, Optional[Tensor]]:
    """A CLIP text tower's keys (open_clip ``TextTransformer`` names), in float32.

    From a full CLIP state dict (OpenAI TorchScript or open_clip, text keys at the top
    level, or under ``text.`` for open_clip's ``CustomTextCLIP``) or a text-only one: the
    visual tower and the model-level entries are left out.

    Returns:
        tuple: ``(text state, logit_scale)``; ``logit_scale`` (log scale) is None if the
        file has none.
    """
    scale = state.get('logit_scale')
    text = {k: v for k, v in state.items()
            if not k.startswith(_NON_TEXT_PREFIXES) and k not in _NON_TEXT_KEYS}
    if text and all(k.startswith('text.') for k in text):
        text = filter_prefix(text, 'text.')
    return float_tensors(text), None if scale is None else scale.detach().float().reshape(())


def mmpretrain_classifier_keys(state: State) -> State:
    """An mmpretrain ``ImageClassifier`` checkpoint without its data preprocessor's buffers."""
    return drop_prefixes(state, ('data_preprocessor.', ))


def inherit_from_teacher(*args, **kwargs):
    """Teacher -> student weight inheritance with its :class:`InheritReport`; see
    :func:`sfmm.models.utils.inherit.inherit_from_teacher` for the arguments."""
    from sfmm.models.utils.inherit import inherit_from_teacher as inherit
    return inherit(*args, **kwargs)


__all__ = ['RELEASED_MARKER', 'add_prefix', 'convert_released', 'drop_parts', 'drop_prefixes',
           'extend_tokens', 'filter_prefix', 'float_tensors', 'inherit_from_teacher',
           'is_jax_npz', 'is_released_sparseformer', 'mmpretrain_classifier_keys',
           'open_clip_text_keys', 'open_clip_visual_keys', 'resize_pos_embed', 'timm_npz_keys',
           'timm_vit_keys']
