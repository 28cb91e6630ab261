"""Shared input handling of sfmm's retrieval metrics: scores and targets to index lists.

The behaviour is that of mmpretrain 1.2.0's private ``_format_pred`` / ``_format_target``
(mmpretrain/evaluation/metrics/retrieval.py), on which sfmm no longer depends;
tests/test_evaluation/test_retrieval_metrics.py compares the two. Two differences: invalid
inputs raise ``TypeError`` (mmpretrain asserts), and a list of index predictions is truncated
into a new list instead of in place.
"""
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmpretrain.structures import label_to_onehot

Indices = Union[Sequence[int], np.ndarray, torch.Tensor]


def _is_indices(x) -> bool:
    if isinstance(x, (np.ndarray, torch.Tensor)):
        return True
    return isinstance(x, Sequence) and all(isinstance(i, int) for i in x)


def _check_index_lists(label, name: str) -> None:
    if not isinstance(label, Sequence):
        raise TypeError(f'`{name}` must be a sequence of index lists when `{name}_indices` '
                        f'is True, got {type(label).__name__}')
    for i, sample in enumerate(label):
        if not _is_indices(sample):
            raise TypeError(f'`{name}[{i}]` must be a sequence of ints, an array or a tensor '
                            f'of indices, got {sample!r}')


def format_pred(pred: Union[np.ndarray, torch.Tensor, Sequence[Indices]],
                topk: Optional[int] = None,
                is_indices: bool = False) -> Union[torch.Tensor, List[Indices]]:
    """The indices of each sample's ``topk`` highest scores, best first.

    Args:
        pred (np.ndarray | torch.Tensor | Sequence): Scores of shape (N, M), or, with
            ``is_indices``, one sequence of predicted indices per sample (best first).
        topk (int, optional): How many to keep per sample; all M if None or 0.
            Defaults to None.
        is_indices (bool): Whether ``pred`` already holds indices. Defaults to False.

    Returns:
        torch.Tensor | list: (N, topk) indices, or the index sequences cut to ``topk``.
    """
    if is_indices:
        _check_index_lists(pred, 'pred')
        return [p[:min(topk, len(p))] if topk else p for p in pred]
    if isinstance(pred, np.ndarray):
        pred = torch.from_numpy(pred)
    elif not isinstance(pred, torch.Tensor):
        raise TypeError('`pred` must be a torch.Tensor, an np.ndarray or a sequence of '
                        f'indices, got {type(pred).__name__}')
    return pred.topk(topk if topk else pred.size(-1)).indices


def format_target(target: Union[np.ndarray, torch.Tensor, Sequence],
                  is_indices: bool = False) -> List[Indices]:
    """The indices of each sample's positives.

    Args:
        target (np.ndarray | torch.Tensor | Sequence): (N, M) one-hot or score targets (a
            positive is any non-zero entry), or, with ``is_indices``, one sequence of
            positive indices per sample.
        is_indices (bool): Whether ``target`` already holds indices. Defaults to False.

    Returns:
        list: One 1-D index tensor (or the given index sequence) per sample.
    """
    if is_indices:
        _check_index_lists(target, 'target')
        return target
    if isinstance(target, np.ndarray):
        target = torch.from_numpy(target)
    elif isinstance(target, Sequence) and not isinstance(target, str):
        target = torch.tensor(target)
    elif not isinstance(target, torch.Tensor):
        raise TypeError('`target` must be a torch.Tensor, an np.ndarray or a sequence, '
                        f'got {type(target).__name__}')
    return [sample.nonzero().squeeze(-1) for sample in target]


def as_numpy(x: Union[np.ndarray, torch.Tensor, Sequence]) -> np.ndarray:
    """``x`` as a NumPy array (tensors are detached and moved to the CPU)."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def score_and_target(data_sample: dict) -> Tuple[torch.Tensor, torch.Tensor]:
    """A sample's (1, M) prediction scores and (1, M) target, as mmpretrain forms them."""
    pred_score = data_sample['pred_score'].clone()
    if 'gt_score' in data_sample:
        target = data_sample.get('gt_score').clone()
    else:
        target = label_to_onehot(data_sample['gt_label'], pred_score.size()[-1])
    return pred_score.unsqueeze(0), target.unsqueeze(0)
