"""sfmm's retrieval input helpers (format_pred / format_target) behave as mmpretrain's did.

mmpretrain 1.2.0 keeps them private (``_format_pred`` / ``_format_target`` in
mmpretrain/evaluation/metrics/retrieval.py); sfmm's metrics no longer import them. This test
imports them *only as the reference* the helpers are checked against: if mmpretrain renames or
drops them, the comparison tests skip and the hand-computed ones still run.
"""
import numpy as np
import pytest
import torch

from sfmm.evaluation.metrics.retrieval_format import (as_numpy, format_pred, format_target,
                                                      score_and_target)

try:  # the reference: mmpretrain's private helpers (comparison only)
    from mmpretrain.evaluation.metrics.retrieval import _format_pred, _format_target
except ImportError:  # pragma: no cover - a later mmpretrain
    _format_pred = _format_target = None
needs_reference = pytest.mark.skipif(_format_pred is None,
                                     reason='mmpretrain no longer has _format_pred')

SCORES = torch.tensor([[0.9, 0.1, 0.5, 0.2],
                       [0.1, 0.2, 0.9, 0.8]])
ONEHOT = torch.tensor([[1, 0, 0, 0],
                       [0, 1, 1, 0]])


def _same(a, b) -> bool:
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return torch.equal(torch.as_tensor(a), torch.as_tensor(b))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return np.array_equal(np.asarray(a), np.asarray(b))


def test_by_hand():
    assert format_pred(SCORES, topk=2).tolist() == [[0, 2], [2, 3]]
    assert format_pred(SCORES).tolist() == [[0, 2, 3, 1], [2, 3, 1, 0]]
    assert [t.tolist() for t in format_target(ONEHOT)] == [[0], [1, 2]]
    assert format_pred([[3, 1, 2], np.array([0, 1])], topk=2, is_indices=True)[0] == [3, 1]
    soft = torch.tensor([[0., 0.3, 0., 0.7]])  # a positive is any non-zero score
    assert format_target(soft)[0].tolist() == [1, 3]


@needs_reference
@pytest.mark.parametrize('topk', [None, 1, 3, 4])
@pytest.mark.parametrize('kind', ['tensor', 'numpy'])
def test_scores_match_mmpretrain(topk, kind):
    scores = torch.rand(5, 4, generator=torch.Generator().manual_seed(0))
    target = (torch.rand(5, 4, generator=torch.Generator().manual_seed(1)) > 0.5).long()
    if kind == 'numpy':
        scores, target = scores.numpy(), target.numpy()
    assert _same(format_pred(scores, topk), _format_pred(scores, topk))
    assert _same(format_target(target), _format_target(target))


@needs_reference
def test_lists_and_indices_match_mmpretrain():
    assert _same(format_target(ONEHOT.tolist()), _format_target(ONEHOT.tolist()))
    preds = [[3, 1, 2], np.array([0, 2, 1]), torch.tensor([2, 0])]
    targets = [[1], np.array([0, 2]), torch.tensor([3])]
    for topk in (None, 2):
        theirs = _format_pred(list(preds), topk, is_indices=True)  # mmpretrain edits in place
        assert _same(format_pred(preds, topk, is_indices=True), theirs)
    assert _same(format_target(targets, is_indices=True),
                 _format_target(targets, is_indices=True))


@needs_reference
def test_bad_inputs_are_refused_as_mmpretrain_does():
    """Where mmpretrain raises TypeError sfmm does too; where it asserts, sfmm raises
    TypeError (asserts vanish under ``python -O``)."""
    for call, ref in ((lambda: format_pred('abc'), lambda: _format_pred('abc')),
                      (lambda: format_target(3), lambda: _format_target(3))):
        with pytest.raises(TypeError):
            call()
        with pytest.raises(TypeError):
            ref()
    for call, ref in ((lambda: format_pred(SCORES, is_indices=True),
                       lambda: _format_pred(SCORES, is_indices=True)),
                      (lambda: format_target([['a']], is_indices=True),
                       lambda: _format_target([['a']], is_indices=True))):
        with pytest.raises(TypeError):
            call()
        with pytest.raises(AssertionError):
            ref()


def test_index_predictions_are_not_cut_in_place():
    preds = [[3, 1, 2]]
    assert format_pred(preds, topk=1, is_indices=True) == [[3]]
    assert preds == [[3, 1, 2]]


def test_score_and_target_and_as_numpy():
    from mmpretrain.structures import DataSample
    # the evaluator hands metrics their samples as dicts
    sample = DataSample().set_pred_score(SCORES[0]).set_gt_label(2).to_dict()
    pred, target = score_and_target(sample)
    assert pred.shape == target.shape == (1, 4)
    assert target.tolist() == [[0, 0, 1, 0]]
    sample = DataSample().set_pred_score(SCORES[0]).set_gt_score(ONEHOT[1].float()).to_dict()
    assert score_and_target(sample)[1].tolist() == [[0., 1., 1., 0.]]
    assert isinstance(as_numpy(torch.ones(2, requires_grad=True)), np.ndarray)
    assert as_numpy([1, 2]).tolist() == [1, 2]
