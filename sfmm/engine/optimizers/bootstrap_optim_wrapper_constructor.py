"""Optimizer constructor for bootstrapping: frozen parameters out, inherited blocks at low lr."""
import inspect
import logging
from typing import Dict, List, Optional, Tuple

import torch.nn as nn
from mmengine.logging import MMLogger, print_log
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
        # mmengine logs one line per parameter (and warns for each frozen one): hundreds of
        # lines for a bootstrapper with its teacher; one summary is logged below instead.
        logger = MMLogger.get_current_instance()
        level = logger.level
        logger.setLevel(logging.ERROR)
        try:
            self.add_params(per_param, model)
        finally:
            logger.setLevel(level)
        merged: Dict[Tuple, dict] = {}
        for group in per_param:
            (param, ) = group['params']
            if not param.requires_grad:  # (mmengine 0.10 already skips them)
                continue
            options = {k: v for k, v in group.items() if k != 'params'}
            if names[id(param)] in inherited:
                options['lr'] = options.get('lr', self.base_lr) * self.inherited_lr_mult
            key = tuple(sorted(options.items()))
            merged.setdefault(key, dict(options, params=[]))['params'].append(param)
        if not merged:
            raise ValueError('the model has no trainable parameter')
        num_frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
        groups = sorted(merged.values(), key=lambda g: -sum(p.numel() for p in g['params']))
        summary = '; '.join(
            f"{sum(p.numel() for p in g['params']) / 1e6:.2f}M params: " + (', '.join(
                f'{k}={v:g}' for k, v in sorted(g.items()) if k != 'params') or 'defaults')
            for g in groups)
        print_log(f'BootstrapOptimWrapperConstructor: {len(groups)} param groups ({summary}); '
                  f'{num_frozen / 1e6:.2f}M frozen params left out of the optimizer; '
                  f'{len(inherited)} inherited tunable tensors at '
                  f'{self.inherited_lr_mult:g}x lr', logger='current')

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
