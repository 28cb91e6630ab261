"""sfmm.RetrievalRecall and sfmm.RetrievalAveragePrecision against figures computed by hand."""
import numpy as np
import pytest
import torch

from sfmm.evaluation.metrics import RetrievalAveragePrecision, RetrievalRecall

# 3 queries over 4 gallery items; targets as one-hot rows.
PRED = torch.tensor([[0.9, 0.1, 0.5, 0.2],    # ranking 0, 2, 3, 1
                     [0.1, 0.2, 0.9, 0.8],    # ranking 2, 3, 1, 0
                     [0.3, 0.9, 0.1, 0.4]])   # ranking 1, 3, 0, 2
TARGET = torch.tensor([[1, 0, 0, 0],          # hit at rank 1
                       [1, 0, 0, 0],          # hit at rank 4
                       [0, 0, 1, 1]])         # hits at ranks 2 and 4


def test_recall_at_k_by_hand():
    r1, r2, r4 = RetrievalRecall.calculate(PRED, TARGET, topk=(1, 2, 4))
    assert float(r1) == pytest.approx(100 / 3)
    assert float(r2) == pytest.approx(200 / 3)
    assert float(r4) == pytest.approx(100.0)


def test_average_precision_by_hand():
    # IR AP: q0 = 1/1; q1 = (1/4)/1; q2 = (1/2 + 2/4)/2
    expected = (1.0 + 0.25 + 0.5) / 3 * 100
    assert RetrievalAveragePrecision.calculate(PRED, TARGET, topk=4) == pytest.approx(expected)
    with pytest.raises(ValueError, match='mode'):
        RetrievalAveragePrecision.calculate(PRED, TARGET, topk=4, mode='nope')


def test_metric_runs_through_an_evaluator():
    from mmengine.evaluator import Evaluator
    from mmpretrain.structures import DataSample
    samples = [DataSample().set_pred_score(p).set_gt_score(t.float())
               for p, t in zip(PRED, TARGET)]
    evaluator = Evaluator([dict(type='sfmm.RetrievalRecall', topk=(1, 2)),
                           dict(type='sfmm.RetrievalAveragePrecision', topk=4)])
    evaluator.process(samples)
    metrics = evaluator.evaluate(len(samples))
    assert metrics['retrieval/Recall@1'] == pytest.approx(100 / 3)
    assert metrics['retrieval/Recall@2'] == pytest.approx(200 / 3)
    assert metrics['retrieval/mAP@4'] == pytest.approx((1.0 + 0.25 + 0.5) / 3 * 100)


@pytest.mark.skipif(hasattr(np, 'in1d'), reason='only NumPy without np.in1d shows the bug')
def test_upstream_metric_is_broken_on_this_numpy():
    from mmpretrain.evaluation.metrics import RetrievalRecall as Upstream
    with pytest.raises(AttributeError, match='in1d'):
        Upstream.calculate(PRED, TARGET, topk=1)
