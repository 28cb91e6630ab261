"""Optimizer constructor for bootstrapping: frozen parameters out, inherited blocks at low lr."""
import inspect
from typing import Dict, List, Optional, Tuple

import torch.nn as nn
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS, OPTIMIZERS

from sfmm.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class BootstrapOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """mmengine's default constructor, plus two bootstrapping rules.

    1. Parameters with ``requires_grad=False`` when the optimizer is built (the frozen cortex
       blocks, final norm, projection, classifier and the teacher) are left out of the
       optimizer entirely.
    2. Parameters named by the model's ``inherited_tunable_names()`` (the tunable cortex
       blocks that start from pre-trained weights, see :class:`sfmm.models.Bootstrapper`) get
       their lr multiplied by ``paramwise_cfg['inherited_lr_mult']`` (paper appendix A.2:
       0.1x the focusing transformer's lr).

    All other ``paramwise_cfg`` options (``custom_keys``, ``norm_decay_mult``,
    ``bias_decay_mult`` ...) work as in :class:`mmengine.optim.DefaultOptimWrapperConstructor`;
    the multipliers combine. Parameters with identical options share one param group.

    Args:
        optim_wrapper_cfg (dict): The optim wrapper config (with ``optimizer``).
        paramwise_cfg (dict, optional): mmengine's paramwise options plus
            ``inherited_lr_mult`` (float, defaults to 0.1). Defaults to None.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None) -> None:
        paramwise_cfg = dict(paramwise_cfg or {})
        self.inherited_lr_mult = float(paramwise_cfg.pop('inherited_lr_mult', 0.1))
        super().__init__(optim_wrapper_cfg, paramwise_cfg)

    def __call__(self, model: nn.Module) -> OptimWrapper:
        if hasattr(model, 'module'):
            model = model.module
        names = {id(p): n for n, p in model.named_parameters()}
        inherited = set(getattr(model, 'inherited_tunable_names', lambda: [])())
        unknown = inherited - set(names.values())
        if unknown:
            raise KeyError(
                f'inherited_tunable_names() lists unknown parameters: {sorted(unknown)}')

        per_param: List[dict] = []
        self.add_params(per_param, model)
        merged: Dict[Tuple, dict] = {}
        for group in per_param:
            (param, ) = group['params']
            if not param.requires_grad:
                continue
            options = {k: v for k, v in group.items() if k != 'params'}
            if names[id(param)] in inherited:
                options['lr'] = options.get('lr', self.base_lr) * self.inherited_lr_mult
            key = tuple(sorted(options.items()))
            merged.setdefault(key, dict(options, params=[]))['params'].append(param)
        if not merged:
            raise ValueError('the model has no trainable parameter')

        optimizer_cfg = self.optimizer_cfg.copy()
        optimizer_cls = optimizer_cfg['type']
        if isinstance(optimizer_cls, str):
            with OPTIMIZERS.switch_scope_and_registry(None) as registry:
                optimizer_cls = registry.get(optimizer_cls)
        first_arg = next(iter(inspect.signature(optimizer_cls).parameters))
        optimizer_cfg[first_arg] = list(merged.values())
        optimizer = OPTIMIZERS.build(optimizer_cfg)
        wrapper_cfg = self.optim_wrapper_cfg.copy()
        wrapper_cfg.setdefault('type', 'OptimWrapper')
        return OPTIM_WRAPPERS.build(wrapper_cfg, default_args=dict(optimizer=optimizer))
