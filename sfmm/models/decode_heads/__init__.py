"""Segmentation decode heads (mmseg ``BaseDecodeHead`` subclasses)."""
from .roi_logit_projection_head import RoILogitProjectionHead

__all__ = ['RoILogitProjectionHead']
