"""Convert released showlab/sparseformer ("v2 converted") checkpoints into sfmm keys.

Paper: "Bootstrapping SparseFormers from Vision Foundation Models"
(https://arxiv.org/abs/2312.01987); released code and weights: showlab/sparseformer.

The released layout (SPEC, "Released checkpoint layout") numbers its units: ``layers.0`` is the
focusing unit, ``layers.1.0`` the transition Linear, ``layers.2`` the final sampling unit and
``layers.3 ..`` the cortex blocks. The map is explicit (no regex guessing):

``{u}`` is ``layers.0`` (focusing unit, sfmm ``focus``) or ``layers.2`` (final sampling unit,
sfmm ``final``); sfmm keys are given without the ``backbone.`` prefix unless stated.

=========================================  ============================================
released                                   sfmm ``ImageClassifier``
=========================================  ============================================
feat_extractor.conv1                       stem.conv
initial_embedding, initial_roi             init_embed, init_rois
cls_embedding                              cls_token
layers.0.stage_embedding                   focus.stage_embed
{u}.roi_offset_module.0, .1                {focus,final}.sampling.offset_norm, offset_fc
{u}.roi_offset_bias                        {focus,final}.sampling.offset_bias
{u}.adaptive_mixing.parameter_generator.0  {focus,final}.sampling.param_norm
{u}.adaptive_mixing.parameter_generator.1  {focus,final}.sampling.param_fc1
{u}.adaptive_mixing.parameter_generator.2  {focus,final}.sampling.param_fc2
{u}.adaptive_mixing.out_proj               {focus,final}.sampling.out_proj
{u}.pe_transition.0, .1                    {focus,final}.pos_enc.norm, proj
layers.0.{norm1,attn,norm2,mlp}.*          focus.{norm1,attn,norm2,mlp}.*
layers.0.roi_adjust_module.0, .1, .3       focus.roi_adjust.norm, fc1, fc2
layers.1.0                                 transition
layers.{3+k}.*                             blocks.{k}.*
norm                                       norm
proj.{weight,bias} (AugReg classifier)     ``head.fc.{weight,bias}`` (outside the backbone)
proj.weight (CLIP projection, no bias)     proj.weight
=========================================  ============================================

The v1 SparseFormers (https://arxiv.org/abs/2304.03768; released as
``sparseformer_v1_{tiny,small,base}_converted.pth``) use the same numbering for
:class:`sfmm.models.backbones.SparseFormerV1`: ``layers.0`` the focusing unit (sfmm ``focus``),
``layers.1.{0,1}`` the transition Linear and LayerNorm, ``layers.2`` the cortex-width sampling
unit (sfmm ``final``), ``layers.3 ..`` plain blocks; no [CLS], stage embedding or RoI
position encoding, but mixing biases and a single-Linear RoI adjustment. They are recognised
by ``layers.1.1.*`` or ``adaptive_mixing.m_beta`` (:func:`is_sparseformer_v1_official`):

=========================================  ============================================
released v1                                sfmm ``ImageClassifier``
=========================================  ============================================
feat_extractor.conv1                       stem.conv
initial_embedding (N, D_f), initial_roi    init_embed, init_rois
{u}.{norm1,attn,norm2,mlp}.*               {focus,final}.{norm1,attn,norm2,mlp}.*
{u}.roi_adjust_module.0, .1                {focus,final}.roi_adjust.norm, fc
{u}.roi_offset_module.0, .1               {focus,final}.sampling.offset_norm, offset_fc
{u}.roi_offset_bias                        {focus,final}.sampling.offset_bias
{u}.adaptive_mixing.parameter_generator.*  {focus,final}.sampling.param_{norm,fc1,fc2}
{u}.adaptive_mixing.m_beta, s_beta         {focus,final}.sampling.channel_bias, spatial_bias
{u}.adaptive_mixing.out_proj               {focus,final}.sampling.out_proj
layers.1.0, layers.1.1                     transition, transition_norm
layers.{3+k}.*                             blocks.{k}.*
norm                                       norm
proj.{weight,bias}                         ``head.fc.{weight,bias}`` (outside the backbone)
=========================================  ============================================
"""
import re
from typing import Dict, List, Optional

import torch

Tensor = torch.Tensor

_SAMPLING_UNIT = {
    'roi_offset_module.0.weight': 'sampling.offset_norm.weight',
    'roi_offset_module.0.bias': 'sampling.offset_norm.bias',
    'roi_offset_module.1.weight': 'sampling.offset_fc.weight',
    'roi_offset_bias': 'sampling.offset_bias',
    'adaptive_mixing.parameter_generator.0.weight': 'sampling.param_norm.weight',
    'adaptive_mixing.parameter_generator.0.bias': 'sampling.param_norm.bias',
    'adaptive_mixing.parameter_generator.1.weight': 'sampling.param_fc1.weight',
    'adaptive_mixing.parameter_generator.1.bias': 'sampling.param_fc1.bias',
    'adaptive_mixing.parameter_generator.2.weight': 'sampling.param_fc2.weight',
    'adaptive_mixing.parameter_generator.2.bias': 'sampling.param_fc2.bias',
    'adaptive_mixing.out_proj.weight': 'sampling.out_proj.weight',
    'adaptive_mixing.out_proj.bias': 'sampling.out_proj.bias',
    'pe_transition.0.weight': 'pos_enc.norm.weight',
    'pe_transition.0.bias': 'pos_enc.norm.bias',
    'pe_transition.1.weight': 'pos_enc.proj.weight',
    'pe_transition.1.bias': 'pos_enc.proj.bias',
}
_BLOCK = {
    f'{m}.{p}': f'{m}.{p}'
    for m in ('norm1', 'attn.qkv', 'attn.proj', 'norm2', 'mlp.fc1', 'mlp.fc2')
    for p in ('weight', 'bias')
}
_FOCUS_EXTRA = {
    'stage_embedding.weight': 'stage_embed.weight',
    'roi_adjust_module.0.weight': 'roi_adjust.norm.weight',
    'roi_adjust_module.0.bias': 'roi_adjust.norm.bias',
    'roi_adjust_module.1.weight': 'roi_adjust.fc1.weight',
    'roi_adjust_module.1.bias': 'roi_adjust.fc1.bias',
    'roi_adjust_module.3.weight': 'roi_adjust.fc2.weight',
}
_TOP = {
    'feat_extractor.conv1.weight': 'backbone.stem.conv.weight',
    'feat_extractor.conv1.bias': 'backbone.stem.conv.bias',
    'initial_embedding.weight': 'backbone.init_embed.weight',
    'initial_roi.weight': 'backbone.init_rois.weight',
    'cls_embedding.weight': 'backbone.cls_token.weight',
    'norm.weight': 'backbone.norm.weight',
    'norm.bias': 'backbone.norm.bias',
    'layers.1.0.weight': 'backbone.transition.weight',
    'layers.1.0.bias': 'backbone.transition.bias',
}
_FIRST_CORTEX = 3

# v1 SparseFormers: one table per unit kind, top-level keys separately
_V1_SAMPLING_UNIT = {
    **{k: v for k, v in _SAMPLING_UNIT.items() if not k.startswith('pe_transition')},
    'adaptive_mixing.m_beta': 'sampling.channel_bias',
    'adaptive_mixing.s_beta': 'sampling.spatial_bias',
    'roi_adjust_module.0.weight': 'roi_adjust.norm.weight',
    'roi_adjust_module.0.bias': 'roi_adjust.norm.bias',
    'roi_adjust_module.1.weight': 'roi_adjust.fc.weight',
    **_BLOCK,
}
_V1_TOP = {
    'feat_extractor.conv1.weight': 'backbone.stem.conv.weight',
    'feat_extractor.conv1.bias': 'backbone.stem.conv.bias',
    'initial_embedding.weight': 'backbone.init_embed.weight',
    'initial_roi.weight': 'backbone.init_rois.weight',
    'layers.1.0.weight': 'backbone.transition.weight',
    'layers.1.0.bias': 'backbone.transition.bias',
    'layers.1.1.weight': 'backbone.transition_norm.weight',
    'layers.1.1.bias': 'backbone.transition_norm.bias',
    'norm.weight': 'backbone.norm.weight',
    'norm.bias': 'backbone.norm.bias',
    'proj.weight': 'head.fc.weight',
    'proj.bias': 'head.fc.bias',
}


def is_sparseformer_official(state_dict: Dict[str, Tensor]) -> bool:
    """Whether a state dict is in the released showlab/sparseformer layout.

    Args:
        state_dict (dict): A (possibly ``model``-wrapped) state dict.

    Returns:
        bool: True if it has the released early-conv or ``layers.0`` keys.
    """
    if 'model' in state_dict and isinstance(state_dict['model'], dict):
        state_dict = state_dict['model']
    return 'feat_extractor.conv1.weight' in state_dict or any(
        k.startswith('layers.0.') for k in state_dict)


def is_sparseformer_v1_official(state_dict: Dict[str, Tensor]) -> bool:
    """Whether a released state dict is a v1 SparseFormer (not a bootstrapped one).

    Args:
        state_dict (dict): A (possibly ``model``-wrapped) released state dict.

    Returns:
        bool: True if it has the v1 transition LayerNorm (``layers.1.1.*``) or mixing
        biases (``adaptive_mixing.m_beta``).
    """
    if 'model' in state_dict and isinstance(state_dict['model'], dict):
        state_dict = state_dict['model']
    return 'layers.1.1.weight' in state_dict or any(
        k.endswith('adaptive_mixing.m_beta') for k in state_dict)


def official_v1_key_map(num_blocks: int) -> Dict[str, str]:
    """The complete released -> sfmm key map of a released v1 SparseFormer.

    Args:
        num_blocks (int): Number of plain blocks after the cortex sampling unit
            (``num_layers - 1`` of :class:`~sfmm.models.backbones.SparseFormerV1`).

    Returns:
        dict[str, str]: released key -> sfmm ``ImageClassifier`` key.
    """
    mapping = dict(_V1_TOP)
    for src, dst in _V1_SAMPLING_UNIT.items():
        mapping[f'layers.0.{src}'] = f'backbone.focus.{dst}'
        mapping[f'layers.2.{src}'] = f'backbone.final.{dst}'
    for k in range(num_blocks):
        for src, dst in _BLOCK.items():
            mapping[f'layers.{_FIRST_CORTEX + k}.{src}'] = f'backbone.blocks.{k}.{dst}'
    return mapping


def official_key_map(num_cortex: int, proj_as: str = 'head') -> Dict[str, str]:
    """The complete released -> sfmm key map of a released model.

    Args:
        num_cortex (int): Number of cortex blocks.
        proj_as (str): ``'head'`` (AugReg classifier ``proj.{weight,bias}`` -> ``head.fc.*``)
            or ``'backbone'`` (CLIP ``proj.weight`` -> ``backbone.proj.weight``).
            Defaults to 'head'.

    Returns:
        dict[str, str]: released key -> sfmm ``ImageClassifier`` key.
    """
    mapping = dict(_TOP)
    for src, dst in {**_SAMPLING_UNIT, **_BLOCK, **_FOCUS_EXTRA}.items():
        mapping[f'layers.0.{src}'] = f'backbone.focus.{dst}'
    for src, dst in _SAMPLING_UNIT.items():
        mapping[f'layers.2.{src}'] = f'backbone.final.{dst}'
    for k in range(num_cortex):
        for src, dst in _BLOCK.items():
            mapping[f'layers.{_FIRST_CORTEX + k}.{src}'] = f'backbone.blocks.{k}.{dst}'
    if proj_as == 'head':
        mapping['proj.weight'] = 'head.fc.weight'
        mapping['proj.bias'] = 'head.fc.bias'
    elif proj_as == 'backbone':
        mapping['proj.weight'] = 'backbone.proj.weight'
    else:
        raise ValueError(f"proj_as must be 'head' or 'backbone', got {proj_as!r}")
    return mapping


def convert_sparseformer_official(state_dict: Dict[str, Tensor],
                                  proj_as: Optional[str] = None) -> Dict[str, Tensor]:
    """Convert a released "v2 converted" state dict into sfmm ``ImageClassifier`` keys.

    The cortex depth is read from the ``layers.{i}`` indices. Every released key must be
    mapped and every key the architecture needs must be present. A v1 SparseFormer
    (:func:`is_sparseformer_v1_official`) is mapped with :func:`official_v1_key_map` (for
    :class:`~sfmm.models.backbones.SparseFormerV1`, ``proj`` always to ``head.fc``), any
    other with :func:`official_key_map` (for :class:`~sfmm.models.backbones.SparseFormer`).

    Args:
        state_dict (dict[str, Tensor]): Released state dict, optionally wrapped under
            ``model``.
        proj_as (str, optional): Where ``proj`` goes, see :func:`official_key_map`.
            Defaults to None: ``'head'`` if ``proj.bias`` exists (AugReg), else ``'backbone'``
            (CLIP).

    Returns:
        dict[str, Tensor]: ``backbone.*`` (and ``head.fc.*``) tensors.

    Raises:
        KeyError: Listing unknown and missing released keys.
    """
    if 'model' in state_dict and isinstance(state_dict['model'], dict):
        state_dict = state_dict['model']
    layer_ids = {int(m.group(1)) for m in (re.match(r'layers\.(\d+)\.', k) for k in state_dict)
                 if m}
    num_cortex = max([i - _FIRST_CORTEX + 1 for i in layer_ids if i >= _FIRST_CORTEX],
                     default=0)
    if is_sparseformer_v1_official(state_dict):
        if proj_as not in (None, 'head'):
            raise ValueError(f"a v1 SparseFormer's proj is its classifier (proj_as='head'), "
                             f"got proj_as={proj_as!r}")
        mapping = official_v1_key_map(num_cortex)
        kind = f'v1 SparseFormer state dict with {num_cortex} plain blocks'
    else:
        if proj_as is None:
            proj_as = 'head' if 'proj.bias' in state_dict else 'backbone'
        mapping = official_key_map(num_cortex, proj_as)
        kind = f'SparseFormer state dict with {num_cortex} cortex blocks'
    unknown = sorted(k for k in state_dict if k not in mapping)
    missing = sorted(k for k in mapping if k not in state_dict)
    if unknown or missing:
        raise KeyError(f'not a released {kind}: unknown keys {unknown}, missing keys '
                       f'{missing}')
    return {mapping[k]: v for k, v in state_dict.items()}


__all__: List[str] = ['convert_sparseformer_official', 'is_sparseformer_official',
                      'is_sparseformer_v1_official', 'official_key_map', 'official_v1_key_map']
