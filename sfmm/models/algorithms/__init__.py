"""Algorithms: mmengine ``BaseModel`` s that the host libraries lack (``sfmm.Bootstrapper``,
``sfmm.CLIPRetriever``)."""
from .bootstrapper import Bootstrapper
from .clip_retriever import CLIPRetriever
from .eval_model_wrapper import EvalModelWrapper

__all__ = ['Bootstrapper', 'CLIPRetriever', 'EvalModelWrapper']
