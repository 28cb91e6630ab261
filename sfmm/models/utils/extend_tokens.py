"""Extend a bootstrapped SparseFormer to more latent tokens (continued bootstrapping).

Paper sec. 4.1, "Continue to bootstrapping with more tokens": a 49-token model is trained on
for 5 epochs with 80, 144 or 196 tokens (optionally at 320px). In the agreed SparseFormer
layout the only tensor whose size depends on the number of latent tokens ``N`` is the learned
initial RoI table ``init_rois.weight`` ``(N, 4)``: the initial embedding ``init_embed`` is one
vector shared by all tokens, and nothing depends on the input resolution (RoIs and sampling
points are in normalised [0, 1] image coordinates).

Rule used by sfmm: the ``N_old`` learned RoIs are kept as tokens ``0 .. N_old-1``; the
``M = N_new - N_old`` new tokens get the same initial layout the SPEC gives a fresh model,
computed for ``M`` tokens: with ``r = floor(sqrt(M))``, the first ``r*r`` new tokens lie on an
``r x r`` grid, token ``(i, j)`` spanning ``[g_i/2, g_j/2, g_i/2 + 1/2, g_j/2 + 1/2]`` with
``g = arange(r) / (r - 1)`` (half-image boxes covering the image with overlap), and any
remaining new tokens (all of them when ``M < 4``) cover the whole image ``[0, 0, 1, 1]``; this
is :func:`sfmm.models.utils.weight_init.initial_roi_grid` applied to ``M``. The focusing
transformer, which is shared by all tokens, then moves them. Fewer tokens than the checkpoint
is refused (it would silently drop learned RoIs).
"""
from typing import Dict, List, Tuple

import torch

from .weight_init import initial_roi_grid

Tensor = torch.Tensor

ROI_KEY = 'init_rois.weight'


def extend_latent_tokens(state_dict: Dict[str, Tensor],
                         target_state: Dict[str, Tensor],
                         prefix: str = 'backbone.') -> Tuple[Dict[str, Tensor], List[str]]:
    """Give a checkpoint's state dict as many latent tokens as ``target_state`` has.

    Args:
        state_dict (dict): Source (e.g. a 49-token bootstrap checkpoint's ``state_dict``).
        target_state (dict): State dict of the model to load into (for the target size).
        prefix (str): Prefix of the SparseFormer keys. Defaults to 'backbone.'.

    Returns:
        tuple: ``(state_dict, notes)``: a new dict (unchanged if sizes agree) and a list of
        human-readable notes on what was extended.

    Raises:
        KeyError: If either side lacks ``{prefix}init_rois.weight``.
        ValueError: If the target has fewer tokens than the source.
    """
    key = prefix + ROI_KEY
    for name, sd in (('checkpoint', state_dict), ('model', target_state)):
        if key not in sd:
            raise KeyError(f'{name} has no {key!r}; is it a SparseFormer state dict?')
    old, new = state_dict[key].shape[0], target_state[key].shape[0]
    if new == old:
        return dict(state_dict), []
    if new < old:
        raise ValueError(f'{key}: the model has {new} latent tokens, fewer than the '
                         f"checkpoint's {old}; refusing to drop learned RoIs")
    out = dict(state_dict)
    src = state_dict[key]
    out[key] = torch.cat([src, initial_roi_grid(new - old).to(src)], dim=0)
    return out, [f'{key}: kept {old} learned RoIs, added {new - old} on a grid -> {new} tokens']
