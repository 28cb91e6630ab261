"""Keep the inherited tunable blocks frozen during the warm-up, then release them."""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from sfmm.registry import HOOKS


@HOOKS.register_module()
class WarmupFreezeHook(Hook):
    """Freeze the model's inherited tunable parameters before ``unfreeze_at``.

    Paper sec. 4.1: "In the warming-up epoch, the inherited pre-trained weights keep frozen for
    training stability." The parameters are those listed by the model's
    ``inherited_tunable_names()`` (:class:`sfmm.models.Bootstrapper`). Freezing sets
    ``requires_grad=False``: they get no gradient, so the optimizer (which skips parameters
    whose grad is None) leaves them and their moments untouched; gradients still flow through
    them to the focusing part.

    The state is derived from ``runner.epoch`` (or ``runner.iter``) at the start of every
    epoch (iteration), never from a counter of its own, so it is right after a resume.
    Under DDP, toggling ``requires_grad`` after wrapping needs
    ``model_wrapper_cfg=dict(type='MMDistributedDataParallel', find_unused_parameters=True)``
    (the bootstrap configs set it).

    Args:
        unfreeze_at (int): First epoch (0-based; ``by_epoch=False``: iteration) in which the
            parameters train. Defaults to 1 (frozen during epoch 0 only).
        by_epoch (bool): Count epochs (True) or iterations. Defaults to True.
    """

    priority = 'NORMAL'

    def __init__(self, unfreeze_at: int = 1, by_epoch: bool = True) -> None:
        if unfreeze_at < 0:
            raise ValueError(f'unfreeze_at must be >= 0, got {unfreeze_at}')
        self.unfreeze_at = unfreeze_at
        self.by_epoch = by_epoch
        self._frozen: Optional[bool] = None  # last applied state, to log changes only

    def _apply(self, runner, frozen: bool) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, 'inherited_tunable_names'):
            raise TypeError(f'{type(model).__name__} has no inherited_tunable_names(); '
                            'WarmupFreezeHook needs a model such as sfmm.Bootstrapper')
        names = set(model.inherited_tunable_names())
        for name, param in model.named_parameters():
            if name in names:
                param.requires_grad_(not frozen)
        if frozen != self._frozen:
            when = f'epoch {runner.epoch}' if self.by_epoch else f'iter {runner.iter}'
            runner.logger.info(f'WarmupFreezeHook: {len(names)} inherited tunable parameters '
                               f"{'frozen' if frozen else 'trainable'} at {when}")
        self._frozen = frozen

    def before_train_epoch(self, runner) -> None:
        if self.by_epoch:
            self._apply(runner, runner.epoch < self.unfreeze_at)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if not self.by_epoch:
            frozen = runner.iter < self.unfreeze_at
            if frozen != self._frozen:
                self._apply(runner, frozen)
