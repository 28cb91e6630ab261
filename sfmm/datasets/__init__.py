"""Importing this package registers sfmm's datasets and transforms."""
from . import transforms  # noqa: F401
from .caption_retrieval import CaptionRetrieval
from .checked_dataset import CheckedDataset
from .fashion_canvases import FashionCanvases
from .fashion_mnist import FashionMNISTError, fetch_fashion_mnist, load_fashion_mnist
from .procedural_scenes import ProceduralScenes

__all__ = ['CaptionRetrieval', 'CheckedDataset', 'FashionCanvases', 'FashionMNISTError',
           'ProceduralScenes', 'fetch_fashion_mnist', 'load_fashion_mnist']
