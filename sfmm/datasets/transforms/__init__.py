"""sfmm's data transforms: robust image / annotation loading and aspect-ratio padding."""
from .limit_aspect_ratio import LimitAspectRatio
from .load_image_from_file_safe import LoadImageFromFileSafe
from .load_seg_annotations import LoadSegAnnotations

__all__ = ['LimitAspectRatio', 'LoadImageFromFileSafe', 'LoadSegAnnotations']
