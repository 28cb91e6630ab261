from .checkpoint_compat_hook import CheckpointCompatHook
from .non_finite_loss_hook import NonFiniteLossHook
from .warmup_freeze_hook import WarmupFreezeHook

__all__ = ['CheckpointCompatHook', 'NonFiniteLossHook', 'WarmupFreezeHook']
