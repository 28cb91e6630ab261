from .roi_drawer import draw_rois_and_points

__all__ = ['draw_rois_and_points']
