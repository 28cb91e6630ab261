"""Unregistered building blocks of SparseFormer (attention, sampling, RoI ops ...)."""
from .adaptive_sampling import (AdaptiveSamplingMixing, gather_sample_points, offset_bias_grid,
                                sample_points)
from .attention import Attention
from .early_conv import EarlyConv, channel_norm
from .focusing_unit import FocusingUnit
from .mlp import ACTIVATIONS, Mlp, QuickGELU, build_activation
from .position_encoding import RoIPositionEncoding, roi_pos_freqs, roi_position_encoding
from .roi_ops import RoIAdjust, roi_adjust, roi_sampling_points
from .sampling_unit import SamplingUnit
from .drop_path import DropPath, drop_path
from .transformer_block import TransformerBlock

__all__ = [
    'ACTIVATIONS', 'AdaptiveSamplingMixing', 'Attention', 'DropPath', 'EarlyConv',
    'FocusingUnit', 'Mlp', 'QuickGELU', 'RoIAdjust', 'RoIPositionEncoding', 'SamplingUnit',
    'TransformerBlock', 'build_activation', 'channel_norm', 'drop_path', 'gather_sample_points',
    'offset_bias_grid',
    'roi_adjust', 'roi_pos_freqs', 'roi_position_encoding', 'roi_sampling_points',
    'sample_points'
]
