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

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The wrapped model's ``forward``."""
        return self.module(*args, **kwargs)

    # Adapter for mmpretrain 1.2.0 (with mmengine 0.10.7): its RetrievalValLoop and
    # RetrievalTestLoop (mmpretrain/engine/runners/retrieval_loop.py) call
    # ``runner.model._run_forward(data, mode='tensor')`` on the model *wrapper*, the private
    # method mmengine's MMDistributedDataParallel defines. mmpretrain offers no public hook
    # for this, so the wrapper provides that one name, built on the public ``forward``, as
    # MMDistributedDataParallel does. tests/test_models/test_algorithms/
    # test_eval_model_wrapper.py fails if either library changes this contract.
    def _run_forward(self, data: Union[dict, tuple, list], mode: str) -> Any:
        """Unpack ``data`` (a data preprocessor's output) into the wrapped ``forward``."""
        if isinstance(data, dict):
            return self.module(**data, mode=mode)
        if isinstance(data, (list, tuple)):
            return self.module(*data, mode=mode)
        raise TypeError(f'data must be a dict, tuple or list, not {type(data).__name__}')
