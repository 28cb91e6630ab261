"""sfmm's data transforms: robust image loading and extreme-aspect-ratio padding."""
from .limit_aspect_ratio import LimitAspectRatio
from .load_image_from_file_safe import LoadImageFromFileSafe

__all__ = ['LimitAspectRatio', 'LoadImageFromFileSafe']
