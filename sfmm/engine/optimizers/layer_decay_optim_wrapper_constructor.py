"""Layer-wise lr decay for models whose *backbone* knows its layer depths (mmseg segmentors)."""
import functools
from typing import Callable, List, Optional

import torch.nn as nn
from mmpretrain.engine.optimizers import LearningRateDecayOptimWrapperConstructor

from sfmm.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LayerDecayOptimWrapperConstructor(LearningRateDecayOptimWrapperConstructor):
    """mmpretrain's layer-wise lr decay, usable on mmseg segmentors and with ``lr_mult``.

    mmpretrain's :class:`LearningRateDecayOptimWrapperConstructor` asks the *root* model for
    ``get_layer_depth``; an mmpretrain ``ImageClassifier`` has it, an mmseg ``EncoderDecoder``
    does not (and mmseg's own ``LayerDecayOptimizerConstructor`` recognises BEiT/ConvNeXt
    parameter names only). This constructor falls back to
    ``model.backbone.get_layer_depth(name, prefix='backbone.')`` (e.g.
    :meth:`sfmm.models.backbones.SparseFormer.get_layer_depth`), which puts every parameter
    outside the backbone (the decode head) at the last depth, i.e. lr scale 1.
    A parameter at depth ``i`` of ``n`` gets ``lr = base_lr * layer_decay_rate ** (n - i - 1)``.

    ``paramwise_cfg`` takes mmpretrain's options (``layer_decay_rate``, ``norm_decay_mult``,
    ``bias_decay_mult``, ``flat_decay_mult``, ``custom_keys`` with ``decay_mult``); in addition
    a ``custom_keys`` entry may carry ``lr_mult``, which multiplies the decayed lr (mmpretrain
    ignores it).

    Args:
        optim_wrapper_cfg (dict): The optim wrapper config (with ``optimizer``).
        paramwise_cfg (dict, optional): See above. Defaults to None.
    """

    def add_params(self,
                   params: List[dict],
                   module: nn.Module,
                   prefix: str = '',
                   get_layer_depth: Optional[Callable] = None,
                   **kwargs) -> None:
        """Add ``module``'s parameters to ``params`` (one group per parameter).

        Args:
            params (list[dict]): Param groups, extended in place.
            module (nn.Module): The module (the whole model at the top call).
            prefix (str): Name prefix of ``module``. Defaults to ''.
            get_layer_depth (Callable, optional): ``name -> (depth, num_depths)``.
                Defaults to None (the model's, else its backbone's).
        """
        if get_layer_depth is None and not hasattr(module, 'get_layer_depth'):
            backbone = getattr(module, 'backbone', None)
            if backbone is None or not hasattr(backbone, 'get_layer_depth'):
                raise NotImplementedError(
                    f'layer-wise lr decay needs get_layer_depth on {type(module).__name__} '
                    'or on its backbone')
            get_layer_depth = functools.partial(backbone.get_layer_depth,
                                                prefix=f'{prefix}backbone.')
        super().add_params(params, module, prefix, get_layer_depth, **kwargs)
        if prefix == '':
            for group in params:
                mult = group.pop('lr_mult', None)
                if mult is not None:
                    group['lr'] = group['lr'] * mult
