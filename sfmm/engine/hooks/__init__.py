"""sfmm's registered mmengine hooks."""
from .checkpoint_compat_hook import CheckpointCompatHook
from .logger_hook import LoggerHook
from .non_finite_loss_hook import NonFiniteLossHook
from .warmup_freeze_hook import WarmupFreezeHook

__all__ = ['CheckpointCompatHook', 'LoggerHook', 'NonFiniteLossHook', 'WarmupFreezeHook']
