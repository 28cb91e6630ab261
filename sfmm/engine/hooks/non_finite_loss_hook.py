"""``sfmm.NonFiniteLossHook``: stop training at the first NaN / Inf loss, before saving."""
import math
from typing import Optional

from mmengine.hooks import Hook

from sfmm.registry import HOOKS


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stop training with a clear message as soon as a loss becomes NaN or Inf.

    Runs after every training iteration, before the checkpoint hook (priority
    ``ABOVE_NORMAL``), so no checkpoint holding the diverged weights is written and the
    last saved checkpoint stays usable with ``tools/train.py CONFIG --resume``.

    Args:
        interval (int): Check every ``interval`` iterations. Defaults to 1.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, interval: int = 1):
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        self.interval = interval

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        if not outputs or not self.every_n_train_iters(runner, self.interval):
            return
        bad = {}
        for name, value in outputs.items():
            if 'loss' not in name:
                continue
            value = float(value.detach().float().mean()) if hasattr(value, 'detach') \
                else float(value)
            if not math.isfinite(value):
                bad[name] = value
        if bad:
            terms = ', '.join(f'{k}={v}' for k, v in bad.items())
            raise RuntimeError(
                f'non-finite loss at iteration {runner.iter + 1} (epoch {runner.epoch + 1}, '
                f'batch {batch_idx + 1}): {terms}. Training stopped; the last saved '
                f'checkpoint in {runner.work_dir} is unaffected (resume with --resume, '
                'e.g. after lowering the learning rate).')
