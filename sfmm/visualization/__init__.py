"""Drawing helpers: token RoIs and sampling points on images."""
from .roi_drawer import draw_rois_and_points

__all__ = ['draw_rois_and_points']
