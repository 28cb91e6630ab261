"""sfmm's registered metrics."""
from .retrieval_average_precision import RetrievalAveragePrecision
from .retrieval_recall import RetrievalRecall

__all__ = ['RetrievalRecall', 'RetrievalAveragePrecision']
