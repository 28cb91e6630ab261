"""Optim-wrapper constructors: ``sfmm.BootstrapOptimWrapperConstructor`` (bootstrapping) and
``sfmm.LayerDecayOptimWrapperConstructor`` (layer-wise lr decay, the segmentation recipe)."""
from .bootstrap_optim_wrapper_constructor import BootstrapOptimWrapperConstructor
from .layer_decay_optim_wrapper_constructor import LayerDecayOptimWrapperConstructor

__all__ = ['BootstrapOptimWrapperConstructor', 'LayerDecayOptimWrapperConstructor']
