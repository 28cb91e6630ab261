"""Algorithms: mmengine ``BaseModel`` s that the host libraries lack (``sfmm.Bootstrapper``)."""
from .bootstrapper import Bootstrapper

__all__ = ['Bootstrapper']
