"""RoI position encoding on hand-made values."""
import math

import torch

from sfmm.models.layers import RoIPositionEncoding, roi_pos_freqs, roi_position_encoding


def test_frequencies():
    f = roi_pos_freqs(16)  # width/4 = 4 frequencies from 1 to 128
    torch.testing.assert_close(f, torch.tensor([1., 128**(1 / 3), 128**(2 / 3), 128.]))


def test_encoding_layout():
    rois = torch.tensor([[0.5, 0.25, 1.0, 0.0]])
    pe = roi_position_encoding(rois, roi_pos_freqs(16))
    assert pe.shape == (1, 16) and pe.dtype == torch.float32
    f = [1., 128**(1 / 3), 128**(2 / 3), 128.]
    expected = []
    for v in (0.5, 0.25, 1.0, 0.0):
        a = [math.pi * v * fi for fi in f]
        expected += [math.sin(a[0]), math.sin(a[2]), math.cos(a[1]), math.cos(a[3])]
    torch.testing.assert_close(pe[0], torch.tensor(expected), atol=1e-5, rtol=0)


def test_no_gradient_to_rois_but_to_projection():
    module = RoIPositionEncoding(32)
    rois = torch.rand(2, 3, 4, requires_grad=True)
    x = torch.randn(2, 3, 32, requires_grad=True)
    module(x, rois).sum().backward()
    assert rois.grad is None
    assert module.proj.weight.grad is not None and x.grad is not None


def test_buffer_is_not_persistent_and_survives_half():
    module = RoIPositionEncoding(32)
    assert 'freqs' not in module.state_dict()
    rois = torch.rand(1, 2, 4)
    full = module(torch.zeros(1, 2, 32), rois)
    half = module.half()(torch.zeros(1, 2, 32, dtype=torch.half), rois)
    assert half.dtype == torch.half
    torch.testing.assert_close(half.float(), full, atol=2e-2, rtol=0)
