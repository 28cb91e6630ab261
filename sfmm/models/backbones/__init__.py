"""SparseFormer backbones (registered in ``sfmm.registry.MODELS``)."""
from .sparseformer import SparseFormer

__all__ = ['SparseFormer']
