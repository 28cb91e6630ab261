from mmengine.hooks import Hook

from sfmm.registry import HOOKS
from sfmm.weights import register_mmengine_safe_globals


@HOOKS.register_module()
class CheckpointCompatHook(Hook):
    """Let mmengine 0.10.7 load its own checkpoints on torch >= 2.6.

    In ``before_run`` (which mmengine calls before it initialises weights, loads
    ``load_from`` or resumes) it allow-lists the types mmengine writes into
    checkpoints, see :mod:`sfmm.weights.reader`. Arbitrary pickled objects are still
    rejected. sfmm's runtime bases add this hook, so runs built from sfmm configs work
    with a plain ``Runner.from_cfg(cfg).train()`` as well as through ``tools/``.
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        register_mmengine_safe_globals()
