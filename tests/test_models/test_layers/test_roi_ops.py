"""RoI adjustment and sampling-point maths on hand-made values."""
import torch

from sfmm.models.layers import RoIAdjust, roi_adjust, roi_sampling_points


def test_roi_adjust_formula():
    rois = torch.tensor([[0.2, 0.4, 0.6, 0.6]])  # centre (0.4, 0.5), size (0.4, 0.2)
    deltas = torch.tensor([[0.5, -1.0, 0.0, torch.log(torch.tensor(2.0))]])
    # cx = 0.4 + 0.5 * 0.4 = 0.6; cy = 0.5 - 1.0 * 0.2 = 0.3; w = 0.4; h = 0.4
    expected = torch.tensor([[0.4, 0.1, 0.8, 0.5]])
    torch.testing.assert_close(roi_adjust(rois, deltas), expected)


def test_roi_adjust_uses_absolute_size_and_float32():
    flipped = torch.tensor([[0.6, 0.6, 0.2, 0.4]], dtype=torch.bfloat16)  # x2 < x1
    out = roi_adjust(flipped, torch.zeros(1, 4, dtype=torch.bfloat16))
    assert out.dtype == torch.float32
    # zero deltas give back the box with ordered corners
    torch.testing.assert_close(out, torch.tensor([[0.2, 0.4, 0.6, 0.6]]), atol=2e-3, rtol=0)


def test_roi_adjust_under_autocast_is_float32():
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = roi_adjust(torch.rand(2, 3, 4), torch.randn(2, 3, 4) * 0.1)
    assert out.dtype == torch.float32


def test_roi_adjust_module_starts_as_identity():
    module = RoIAdjust(32)
    rois = torch.tensor([[[0.1, 0.2, 0.5, 0.9]]])
    torch.testing.assert_close(module(torch.randn(1, 1, 32), rois), rois)
    assert torch.allclose(module.norm.weight, torch.full((32, ), 32**-0.5))
    assert (module.fc2.weight == 0).all() and module.fc2.bias is None


def test_sampling_points_standardisation():
    rois = torch.tensor([[[0.2, 0.2, 0.6, 1.0]]])  # centre (0.4, 0.6), size (0.4, 0.8)
    offsets = torch.tensor([[[[1., 5.], [3., 5.], [5., 7.], [7., 7.]]]])
    # x: mean 4, unbiased std sqrt(20/3); y: mean 6, std sqrt(4/3)
    sx = (20 / 3)**0.5 + 1e-5
    sy = (4 / 3)**0.5 + 1e-5
    nx = (offsets[..., 0] - 4) / (3 * sx)
    ny = (offsets[..., 1] - 6) / (3 * sy)
    expected = torch.stack([0.4 + nx * 0.4, 0.6 + ny * 0.8], -1)
    out = roi_sampling_points(rois, offsets)
    torch.testing.assert_close(out, expected)
    assert out.shape == (1, 1, 4, 2)
