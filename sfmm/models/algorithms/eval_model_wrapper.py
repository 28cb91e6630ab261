"""A distributed model wrapper for evaluation-only models (nothing to train, nothing to sync)."""
from typing import Any, Union

from torch import nn

from sfmm.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class EvalModelWrapper(nn.Module):
    """Wrap a model for distributed testing without DistributedDataParallel.

    mmengine wraps every model of a distributed run in ``MMDistributedDataParallel``, and
    PyTorch's DDP refuses a module none of whose parameters requires a gradient, such as a
    frozen CLIP teacher evaluated zero-shot (``sfmm.TeacherBackbone``). Evaluation needs no
    gradient synchronisation: each rank runs its share of the data and the evaluator (or
    :meth:`sfmm.models.algorithms.CLIPRetriever.predict_all`) gathers the results. Use it with
    ``model_wrapper_cfg = dict(type='sfmm.EvalModelWrapper')``.

    Args:
        module (nn.Module): The model (an mmengine ``BaseModel``).
        **kwargs: DDP arguments given by launch helpers (``device_ids``,
            ``find_unused_parameters``, ...); ignored.
    """

    def __init__(self, module: nn.Module, **kwargs: Any) -> None:
        super().__init__()
        self.module = module

    def train_step(self, data: Union[dict, tuple, list], optim_wrapper: Any) -> dict:
        """Not supported: the wrapped model is evaluated only."""
        raise RuntimeError('EvalModelWrapper is for evaluation; train with a DDP wrapper')

    def val_step(self, data: Union[dict, tuple, list]) -> list:
        """The wrapped model's ``val_step``."""
        return self.module.val_step(data)

    def test_step(self, data: Union[dict, tuple, list]) -> list:
        """The wrapped model's ``test_step``."""
        return self.module.test_step(data)

    def _run_forward(self, data: Union[dict, tuple, list], mode: str) -> Any:
        """The wrapped model's ``_run_forward`` (used by mmpretrain's retrieval loops)."""
        return self.module._run_forward(data, mode=mode)
