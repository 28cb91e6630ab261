"""Optim-wrapper constructors (``sfmm.BootstrapOptimWrapperConstructor``)."""
from .bootstrap_optim_wrapper_constructor import BootstrapOptimWrapperConstructor

__all__ = ['BootstrapOptimWrapperConstructor']
from .layer_decay_optim_wrapper_constructor import \
    LayerDecayOptimWrapperConstructor  # noqa: E402,F401
