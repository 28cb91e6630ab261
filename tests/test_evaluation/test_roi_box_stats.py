"""RoI-to-box statistics, checked against torchvision's box_iou (an outside implementation)
and hand-placed RoIs and points."""
import pytest
import torch

from sfmm.evaluation.roi_box_stats import box_iou_pairwise, roi_box_stats


def test_pairwise_iou_matches_torchvision():
    ops = pytest.importorskip('torchvision.ops')
    g = torch.Generator().manual_seed(0)
    xy = torch.rand(6, 9, 2, generator=g)
    wh = torch.rand(6, 9, 2, generator=g) * 0.5
    rois = torch.cat([xy, xy + wh], -1)
    box_xy = torch.rand(6, 2, generator=g)
    boxes = torch.cat([box_xy, box_xy + 0.3], -1)
    ours = box_iou_pairwise(rois, boxes)
    ref = torch.stack([ops.box_iou(rois[i], boxes[i:i + 1])[:, 0] for i in range(6)])
    torch.testing.assert_close(ours, ref)


def test_stats_by_hand():
    box = torch.tensor([[0.5, 0.5, 1.0, 1.0]])
    # step 0: a token far away and one on a quarter of the box; step 1: one exactly on it
    rois = torch.tensor([[[[0.0, 0.0, 0.25, 0.25], [0.5, 0.5, 0.75, 0.75]],
                          [[0.0, 0.0, 0.25, 0.25], [0.5, 0.5, 1.0, 1.0]]]])
    points = torch.tensor([[[[0.6, 0.6], [0.1, 0.1]], [[0.9, 0.7], [0.4, 0.9]]]])
    s = roi_box_stats(rois, points, box)
    assert s['best_iou'] == pytest.approx([0.25, 1.0])
    assert s['centre_in_box'] == pytest.approx([0.5, 0.5])
    assert s['points_in_box'] == pytest.approx(0.5)
    assert s['box_area'] == pytest.approx(0.25) and s['count'] == 1
    with pytest.raises(ValueError, match=r'rois must be \(B, R\+1, N, 4\)'):
        roi_box_stats(rois[0], points, box)
