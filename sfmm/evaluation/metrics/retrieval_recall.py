"""Recall@k for retrieval (``sfmm.RetrievalRecall``): mmpretrain's metric on NumPy >= 2.4."""
from typing import List, Sequence, Union

import numpy as np
import torch
from mmpretrain.evaluation.metrics import RetrievalRecall as _MMPretrainRetrievalRecall

from sfmm.registry import METRICS
from .retrieval_format import as_numpy, format_pred, format_target, score_and_target


@METRICS.register_module()
class RetrievalRecall(_MMPretrainRetrievalRecall):
    """mmpretrain's ``RetrievalRecall`` (Recall@k), working on NumPy >= 2.4.

    mmpretrain 1.2.0 calls ``np.in1d``, which NumPy 2.4 removed; this subclass computes
    the same figure with ``np.isin`` and is otherwise identical (same arguments, same
    metric names ``Recall@k``). Use it as ``dict(type='sfmm.RetrievalRecall', topk=...)``.

    Args:
        topk (int | Sequence[int]): Predictions within the k highest scores count as hits.
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): Prefix for metric names. Defaults to None.
    """

    def process(self, data_batch: Sequence[dict], data_samples: Sequence[dict]) -> None:
        for data_sample in data_samples:
            self.results.append(self.calculate(*score_and_target(data_sample), topk=self.topk))

    @staticmethod
    def calculate(pred: Union[np.ndarray, torch.Tensor],
                  target: Union[np.ndarray, torch.Tensor],
                  topk: Union[int, Sequence[int]],
                  pred_indices: bool = False,
                  target_indices: bool = False) -> List[torch.Tensor]:
        """Average Recall@k over samples, in percent, one value per k."""
        topk = (topk, ) if isinstance(topk, int) else tuple(topk)
        for k in topk:
            if k <= 0:
                raise ValueError(f'topk must be positive integers, got {topk}')
        pred = format_pred(pred, max(topk), pred_indices)
        target = format_target(target, target_indices)
        if len(pred) != len(target):
            raise ValueError(f'{len(pred)} predictions but {len(target)} targets')
        results = []
        for k in topk:
            hits = torch.zeros(len(pred))
            for i, (sample_pred, sample_target) in enumerate(zip(pred, target)):
                hits[i] = float(np.isin(as_numpy(sample_pred)[:k],
                                        as_numpy(sample_target)).any())
            results.append(hits.mean() * 100)
        return results
