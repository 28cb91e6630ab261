"""sfmm's mmengine file backends: ``sfmm_atomic_local`` (atomic checkpoint writes)."""
from .atomic_local_backend import AtomicLocalBackend

__all__ = ['AtomicLocalBackend']
