"""Parts of a model that runner checkpoints do not hold, and how they get their weights.

A frozen part whose weights always come from its own file (a bootstrapper's teacher) is left
out of its parent's state dict by :func:`exclude_from_parent_state_dict`, and a parent's
state dict without it loads strictly while the part keeps the weights its file gave it.

A module that needs such weights after a runner checkpoint was loaded (zero-shot class
embeddings from a CLIP text tower, a retriever's text tower) defines
``init_unsaved_weights()``: its ``init_weights`` calls it, and so does
:func:`init_unsaved_parts`, which ``sfmm.Runner`` and :func:`sfmm.apis.init_model` run after
loading a checkpoint (mmengine's test and val paths never call ``init_weights``). It must be
idempotent.
"""
from typing import List

from mmengine.model import is_model_wrapper
from torch import nn


def _drop_when_nested(module: nn.Module, state_dict: dict, prefix: str,
                      local_metadata: dict) -> None:
    """State-dict post hook: drop the part's keys when a parent saves (non-empty prefix);
    the part's own ``state_dict()`` stays complete (for weight inheritance)."""
    if not prefix:
        return
    for key in [k for k in state_dict if k.startswith(prefix)]:
        del state_dict[key]


def _keep_when_missing(module: nn.Module, state_dict: dict, prefix: str, local_metadata: dict,
                       strict: bool, missing_keys: list, unexpected_keys: list,
                       error_msgs: list) -> None:
    """Load-state-dict pre hook: a parent's state dict without the part's keys keeps the
    part's current weights. Loading the part itself (empty prefix) stays fully strict."""
    if not prefix:
        return
    for key, value in module.state_dict().items():
        state_dict.setdefault(prefix + key, value)


def exclude_from_parent_state_dict(module: nn.Module) -> None:
    """Leave ``module``'s tensors out of every parent's state dict (public torch hooks).

    Args:
        module (nn.Module): e.g. a bootstrapper's frozen teacher.
    """
    module.register_state_dict_post_hook(_drop_when_nested)
    module.register_load_state_dict_pre_hook(_keep_when_missing)


def init_unsaved_parts(model: nn.Module) -> List[str]:
    """Call ``init_unsaved_weights()`` of every submodule that defines it.

    Args:
        model (nn.Module): A model, or a model wrapper (DDP, ``sfmm.EvalModelWrapper``).

    Returns:
        list[str]: names of the modules initialised (``''`` for the model itself).
    """
    if is_model_wrapper(model):
        model = model.module
    done = []
    for name, m in model.named_modules():
        init = getattr(m, 'init_unsaved_weights', None)
        if callable(init):
            init()
            done.append(name)
    return done


__all__ = ['exclude_from_parent_state_dict', 'init_unsaved_parts']
