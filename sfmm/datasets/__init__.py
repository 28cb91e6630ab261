"""Importing this package registers sfmm's datasets and transforms."""
from . import transforms  # noqa: F401
from .procedural_scenes import ProceduralScenes

__all__ = ['ProceduralScenes']
