"""``sfmm.Pretrained``: the strict checkpoint initializer (an mmengine ``init_cfg`` type).

``init_cfg=dict(type='sfmm.Pretrained', checkpoint=PATH, prefix=..., ...)`` on any module
(sfmm's own or a host library's) loads ``PATH`` through :func:`sfmm.weights.load_pretrained`:
read safely, converted by named steps and the module's own ``checkpoint_filter_fn``, loaded
with every key matched. It replaces mmengine's ``Pretrained`` (``PretrainedInit``), which
loads with ``strict=False``; sfmm's modules also read a plain ``type='Pretrained'`` as this
one (:func:`sfmm.models.utils.weight_init.strict_init_cfg`).

mmengine's ``BaseModule.init_weights`` (0.10.7) applies only the type named exactly
``'Pretrained'`` after the children's ``init_weights``; every other type, this one included,
runs before them. So that no child re-initialises what was just loaded, the initializer marks
every ``BaseModule`` below the module as initialised: the file provides all of its weights.
"""
from typing import Iterable, Optional, Union

import torch
from mmengine.model import BaseModule
from mmengine.model.weight_init import update_init_info
from torch import nn

from sfmm.registry import WEIGHT_INITIALIZERS
from .load import load_pretrained


@WEIGHT_INITIALIZERS.register_module(name='Pretrained')
class PretrainedInit:
    """Initialise a module from its own checkpoint file, strictly.

    Args:
        checkpoint (str): Local path or URI of the file.
        prefix (str, optional): Keep the keys starting with it, stripped, e.g.
            ``'backbone.'``. Defaults to None.
        allow_missing (Iterable[str]): Groups of the module's ``allow_missing_groups`` that
            may be missing. Defaults to ().
        extend_tokens (bool): Extend a SparseFormer checkpoint with fewer latent tokens.
            Defaults to False.
        drop_keys (Iterable[str]): Parts in the file the module does not build.
            Defaults to ().
        resize_pos_embed (bool): Resize a ViT ``pos_embed`` to the module's grid.
            Defaults to False.
        map_location (str | torch.device): Defaults to 'cpu'.
    """

    def __init__(self,
                 checkpoint: str,
                 prefix: Optional[str] = None,
                 allow_missing: Iterable[str] = (),
                 extend_tokens: bool = False,
                 drop_keys: Iterable[str] = (),
                 resize_pos_embed: bool = False,
                 map_location: Union[str, torch.device] = 'cpu') -> None:
        if not checkpoint:
            raise ValueError('sfmm.Pretrained needs a checkpoint')
        self.checkpoint = checkpoint
        self.options = dict(prefix=prefix, allow_missing=tuple(allow_missing),
                            extend_tokens=extend_tokens, drop_keys=tuple(drop_keys),
                            resize_pos_embed=resize_pos_embed, map_location=map_location)

    def __call__(self, module: nn.Module) -> None:
        record = load_pretrained(module, self.checkpoint, **self.options)
        for m in module.modules():
            if isinstance(m, BaseModule):
                m.is_init = True
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=f'{type(self).__name__}: loaded strictly from '
                             f'{record.source}')


__all__ = ['PretrainedInit']
