"""The runner-building path shared by tools/train.py and tools/test.py."""
from mmengine.config import Config

from sfmm.weights import register_mmengine_safe_globals

from .dist import setup_cpu_distributed


def build_runner(cfg: Config):
    """Build the runner for a merged config (``runner_type`` if set, else mmengine's Runner).

    Before building it allow-lists mmengine's checkpoint contents for ``torch.load``
    (:mod:`sfmm.weights.reader`) and, for a distributed launch on a machine without CUDA,
    sets up a gloo process group (:func:`sfmm.utils.dist.setup_cpu_distributed`).

    Args:
        cfg (Config): The config after CLI overrides.

    Returns:
        The runner, ready for ``train()`` / ``test()``.
    """
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    register_mmengine_safe_globals()
    setup_cpu_distributed(cfg)
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)
