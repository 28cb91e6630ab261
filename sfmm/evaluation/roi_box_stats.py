"""How well a SparseFormer's token RoIs find an object: per focusing step, against its box.

Used by the demo (``tools/demo.py``) on the Fashion-MNIST canvases, whose item boxes are
known: if the focusing transformer learns to look at the object, the best RoI-to-box IoU and
the share of sampling points on the box rise from the initial RoI grid to the last step.
"""
from typing import Dict, List

import torch
from torch import Tensor


def box_iou_pairwise(a: Tensor, b: Tensor) -> Tensor:
    """IoU of boxes ``a`` (..., N, 4) with one box ``b`` (..., 4) each, all ``x1y1x2y2``.

    Returns:
        Tensor: (..., N).
    """
    b = b.unsqueeze(-2)
    lt = torch.maximum(a[..., :2], b[..., :2])
    rb = torch.minimum(a[..., 2:], b[..., 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    area_a = (a[..., 2:] - a[..., :2]).clamp(min=0).prod(-1)
    area_b = (b[..., 2:] - b[..., :2]).clamp(min=0).prod(-1)
    return inter / (area_a + area_b - inter).clamp(min=1e-12)


def _inside(xy: Tensor, box: Tensor) -> Tensor:
    """Whether points ``xy`` (B, ..., 2) lie in ``box`` (B, 4) (bool, same leading shape)."""
    shape = (box.shape[0], ) + (1, ) * (xy.dim() - 2)
    x0, y0, x1, y1 = (box[:, i].reshape(shape) for i in range(4))
    x, y = xy[..., 0], xy[..., 1]
    return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)


@torch.no_grad()
def roi_box_stats(rois: Tensor, points: Tensor, boxes: Tensor) -> Dict[str, List[float]]:
    """Sums over images of RoI-to-box agreement, per focusing step (divide by ``count``).

    Args:
        rois (Tensor): RoIs (B, R+1, N, 4), ``x1y1x2y2`` in [0, 1]; index 0 is the initial
            RoI (``SparseFormer.forward_dict()['rois']``).
        points (Tensor): Final sampling points (B, N, P, 2) in [0, 1].
        boxes (Tensor): One object box per image (B, 4), ``x1y1x2y2`` in [0, 1].

    Returns:
        dict: ``best_iou`` (R+1 sums of the best token's IoU), ``centre_in_box`` (R+1 sums
        of the share of token RoI centres inside the box), ``points_in_box`` (the share of
        final sampling points inside the box), ``box_area`` (the share a box-blind uniform
        sampler would get) and ``count`` (B).
    """
    rois, points, boxes = rois.float(), points.float(), boxes.float()
    if rois.dim() != 4 or rois.shape[-1] != 4 or boxes.shape != (rois.shape[0], 4):
        raise ValueError(f'rois must be (B, R+1, N, 4) and boxes (B, 4); got '
                         f'{tuple(rois.shape)} and {tuple(boxes.shape)}')
    steps = rois.shape[1]
    iou = box_iou_pairwise(rois, boxes[:, None].expand(-1, steps, -1))  # (B, R+1, N)
    centres = (rois[..., :2] + rois[..., 2:]) / 2
    area = (boxes[:, 2:] - boxes[:, :2]).clamp(min=0).prod(-1)
    return dict(
        best_iou=iou.max(-1).values.sum(0).tolist(),
        centre_in_box=_inside(centres, boxes).float().mean(-1).sum(0).tolist(),
        points_in_box=float(_inside(points, boxes).float().mean((1, 2)).sum()),
        box_area=float(area.sum()),
        count=int(rois.shape[0]))
