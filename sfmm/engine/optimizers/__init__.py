"""Optim-wrapper constructors (``sfmm.BootstrapOptimWrapperConstructor``)."""
from .bootstrap_optim_wrapper_constructor import BootstrapOptimWrapperConstructor

__all__ = ['BootstrapOptimWrapperConstructor']
