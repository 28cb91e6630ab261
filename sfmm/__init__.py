"""sfmm: SparseFormers bootstrapped from vision foundation models, on OpenMMLab."""
from .version import __version__

__all__ = ['__version__']
