"""Initialisation helpers shared by sfmm's modules (no file is read here)."""
import math
from typing import List, Optional, Union

import torch
import torch.nn as nn

Tensor = torch.Tensor
InitCfg = Optional[Union[dict, List[dict]]]

#: The strict checkpoint initializer of :mod:`sfmm.weights`.
STRICT_PRETRAINED = 'sfmm.Pretrained'


def init_linear_and_norm(module: nn.Module) -> None:
    """Every Linear in ``module``: truncated normal std 0.02, bias 0; every LayerNorm:
    weight 1, bias 0 (SPEC's default rule, as in timm's ViT)."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def initial_roi_grid(num_tokens: int) -> Tensor:
    """Initial RoIs: an ``r x r`` grid (``r = floor(sqrt(N))``) of half-size boxes.

    Token ``i * r + j`` spans ``[g_i/2, g_j/2, g_i/2 + 1/2, g_j/2 + 1/2]`` with
    ``g = arange(r) / (r - 1)``; remaining tokens (and all tokens when ``r == 1``, where the
    grid is undefined) cover the whole image ``[0, 0, 1, 1]``.

    Args:
        num_tokens (int): ``N``.

    Returns:
        Tensor: Shape (N, 4).
    """
    rois = torch.tensor([0., 0., 1., 1.]).repeat(num_tokens, 1)
    r = math.isqrt(num_tokens)
    if r >= 2:
        g = torch.arange(r, dtype=torch.float32) / (r - 1)
        gx, gy = torch.meshgrid(g, g, indexing='ij')
        lo = torch.stack([gx, gy], dim=-1).view(r * r, 2) * 0.5
        rois[:r * r] = torch.cat([lo, lo + 0.5], dim=-1)
    return rois


def strict_init_cfg(init_cfg: InitCfg) -> InitCfg:
    """An sfmm module's ``init_cfg`` with checkpoints loaded strictly.

    ``type='Pretrained'`` (mmengine's ``PretrainedInit``, which loads with ``strict=False``)
    becomes ``type='sfmm.Pretrained'`` (:class:`sfmm.weights.PretrainedInit`), so no sfmm module
    is ever loaded non-strictly. A checkpoint cannot be combined with other initialisers (the
    file gives every weight).

    Args:
        init_cfg (dict | list[dict], optional): The module's ``init_cfg``.

    Returns:
        dict | list[dict] | None: The same, with ``Pretrained`` made strict.

    Raises:
        ValueError: If a ``Pretrained`` entry is combined with other types.
    """
    if init_cfg is None:
        return None
    cfgs = [init_cfg] if isinstance(init_cfg, dict) else list(init_cfg)
    out = [dict(c, type=STRICT_PRETRAINED) if c.get('type') == 'Pretrained' else c
           for c in cfgs]
    if len(out) > 1 and any(c.get('type') == STRICT_PRETRAINED for c in out):
        raise ValueError(f'a {STRICT_PRETRAINED} init_cfg cannot be combined with other types: '
                         f'{out}')
    return out[0] if isinstance(init_cfg, dict) else out


def has_checkpoint(init_cfg: InitCfg) -> bool:
    """Whether ``init_cfg`` loads a checkpoint file."""
    cfgs = [init_cfg] if isinstance(init_cfg, dict) else list(init_cfg or [])
    return any('checkpoint' in c for c in cfgs)
