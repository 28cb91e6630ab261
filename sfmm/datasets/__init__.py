"""Importing this package registers sfmm's datasets and transforms."""
from . import transforms  # noqa: F401
from .caption_retrieval import CaptionRetrieval
from .checked_dataset import CheckedDataset
from .procedural_scenes import ProceduralScenes

__all__ = ['CaptionRetrieval', 'CheckedDataset', 'ProceduralScenes']
