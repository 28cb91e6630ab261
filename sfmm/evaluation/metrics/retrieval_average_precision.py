"""mAP@k for retrieval (``sfmm.RetrievalAveragePrecision``), mmpretrain's metric on NumPy 2.4+."""
from typing import Optional, Sequence, Union

import numpy as np
import torch
from mmpretrain.evaluation.metrics import \
    RetrievalAveragePrecision as _MMPretrainRetrievalAP

from sfmm.registry import METRICS
from .retrieval_format import as_numpy, format_pred, format_target, score_and_target


def _average_precision(pred: np.ndarray, target: np.ndarray, mode: str) -> float:
    positive_ranks = np.flatnonzero(np.isin(pred, target))
    ap = 0.0
    for i, rank in enumerate(positive_ranks):
        if mode == 'IR':
            ap += (i + 1) / (rank + 1)
        else:  # 'integrate': mean of the two adjacent precisions (Oxford/Paris)
            old = i / rank if rank > 0 else 1.0
            ap += (old + (i + 1) / (rank + 1)) / 2
    return ap / len(target) * 100


@METRICS.register_module()
class RetrievalAveragePrecision(_MMPretrainRetrievalAP):
    """mmpretrain's ``RetrievalAveragePrecision`` (mAP@k), working on NumPy >= 2.4.

    Same arguments and metric name (``mAP@k``) as mmpretrain 1.2.0, without its
    ``np.in1d`` call. Use it as ``dict(type='sfmm.RetrievalAveragePrecision', topk=...)``.

    Args:
        topk (int): Predictions within the k highest scores count as retrieved.
        mode (str): 'IR' or 'integrate'. Defaults to 'IR'.
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): Prefix for metric names. Defaults to None.
    """

    def process(self, data_batch: Sequence[dict], data_samples: Sequence[dict]) -> None:
        for data_sample in data_samples:
            self.results.append(
                self.calculate(*score_and_target(data_sample), self.topk, mode=self.mode))

    @staticmethod
    def calculate(pred: Union[np.ndarray, torch.Tensor],
                  target: Union[np.ndarray, torch.Tensor],
                  topk: Optional[int] = None,
                  pred_indices: bool = False,
                  target_indices: bool = False,
                  mode: str = 'IR') -> float:
        """Mean average precision over samples, in percent."""
        if topk is None or (isinstance(topk, int) and topk <= 0):
            raise ValueError(f'topk must be a positive integer, got {topk}')
        if mode not in ('IR', 'integrate'):
            raise ValueError(f"mode must be 'IR' or 'integrate', got {mode!r}")
        pred = format_pred(pred, topk, pred_indices)
        target = format_target(target, target_indices)
        if len(pred) != len(target):
            raise ValueError(f'{len(pred)} predictions but {len(target)} targets')
        aps = [_average_precision(as_numpy(p), as_numpy(t), mode)
               for p, t in zip(pred, target)]
        return float(np.mean(aps))
