"""Sampling + adaptive mixing against explicit per-token maths."""
import math

import pytest
import torch
import torch.nn.functional as F

from sfmm.models.layers import AdaptiveSamplingMixing, offset_bias_grid, sample_points


def test_offset_bias_grid():
    torch.testing.assert_close(offset_bias_grid(1), torch.zeros(1, 2))
    grid = offset_bias_grid(9)
    centres = torch.tensor([1 / 6, 1 / 2, 5 / 6]) - 0.5
    torch.testing.assert_close(grid[5], torch.stack([centres[2], centres[1]]))  # row 1, col 2


def test_sample_points_border_and_centres():
    feat = torch.arange(12.).view(1, 1, 3, 4)
    pts = torch.tensor([[[[0.125, 1 / 6], [0.875, 5 / 6], [-1.0, 2.0], [0.25, 1 / 6]]]])
    out = sample_points(feat, pts)
    # pixel centres hit exact values; outside points clamp to the border pixel;
    # (0.25, 1/6) lies half-way between pixels (0, 0) and (0, 1)
    torch.testing.assert_close(out[0, 0, 0], torch.tensor([0., 11., 8., 0.5]))


def test_rejects_non_square_points():
    with pytest.raises(ValueError, match='perfect square'):
        AdaptiveSamplingMixing(32, 8, num_points=6)


@pytest.mark.parametrize('mixing_bias,padding', [(False, 'border'), (True, 'zeros')])
def test_mixing_matches_explicit_per_token(mixing_bias, padding):
    """Written from the released ``AdaptiveMixing.forward`` (both ``mixing_bias`` branches)."""
    torch.manual_seed(0)
    m = AdaptiveSamplingMixing(32, in_channels=4, num_points=4, hidden_dims=16,
                               mixing_bias=mixing_bias, padding_mode=padding)
    with torch.no_grad():
        for p in m.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    x = torch.randn(2, 3, 32)
    rois = torch.tensor([0.1, 0.2, 0.7, 0.9]).expand(2, 3, 4)
    feat = torch.randn(2, 4, 8, 8)
    out, points = m(x, rois, feat)
    C, P, Po = 4, 4, 32
    for b in range(2):
        for n in range(3):
            t = x[b, n]
            off = F.linear(F.layer_norm(t, (32, ), m.offset_norm.weight, m.offset_norm.bias),
                           m.offset_fc.weight) + m.offset_bias
            off = off.view(P, 2)
            off = (off - off.mean(0)) / (3 * (off.std(0) + 1e-5))
            pts = torch.tensor([0.4, 0.55]) + off * torch.tensor([0.6, 0.7])
            torch.testing.assert_close(points[b, n], pts)
            grid = (pts * 2 - 1).view(1, 1, P, 2)
            s = F.grid_sample(feat[b:b + 1], grid, padding_mode=padding,
                              align_corners=False)[0, :, 0].t()  # (P, C)
            g = F.layer_norm(t, (32, ), m.param_norm.weight, m.param_norm.bias)
            g = m.param_fc2(m.param_fc1(g))
            channel, spatial = g[:C * C].view(C, C), g[C * C:].view(Po, P)
            if mixing_bias:  # v1: biases, GELU between and after the two mixings
                mixed = F.gelu(s @ channel + m.channel_bias)
                mixed = F.gelu(spatial @ mixed + m.spatial_bias[:, None])
            else:  # bootstrapped: no activation between, one GELU after
                mixed = F.gelu(spatial @ (s @ channel))
            torch.testing.assert_close(out[b, n], t + m.out_proj(mixed.reshape(-1)),
                                       atol=1e-5, rtol=1e-5)


def test_initialisation():
    m = AdaptiveSamplingMixing(64, in_channels=8, num_points=16)
    assert (m.offset_fc.weight == 0).all() and m.offset_fc.bias is None
    assert (m.param_fc2.weight == 0).all()
    torch.testing.assert_close(m.offset_bias.view(16, 2), offset_bias_grid(16))
    b = m.param_fc2.bias
    assert b.numel() == 8 * 8 + 16 * 32
    assert b[:64].abs().max() <= math.sqrt(6 / 16)
    assert b[64:].abs().max() <= math.sqrt(6 / 48)
    assert torch.allclose(m.param_norm.weight, torch.full((64, ), 0.125))


def test_float32_sampling_under_autocast():
    m = AdaptiveSamplingMixing(32, in_channels=4, num_points=4)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out, points = m(torch.randn(1, 2, 32), torch.rand(1, 2, 4), torch.randn(1, 4, 8, 8))
    assert points.dtype == torch.float32 and not torch.isnan(out).any()


@pytest.mark.parametrize('padding', ['border', 'zeros'])
def test_gather_sampling_equals_grid_sample(padding):
    """The export formulation (one row gather, channels-last) is grid_sample's bilinear
    sampling, points outside the map included."""
    from sfmm.models.layers import gather_sample_points
    g = torch.Generator().manual_seed(0)
    feat = torch.randn(2, 8, 7, 9, generator=g, dtype=torch.float64)
    pts = torch.rand(2, 5, 16, 2, generator=g, dtype=torch.float64) * 1.6 - 0.3
    pts[0, 0, :4] = torch.tensor([[0., 0.], [1., 1.], [0.5 / 9, 0.5 / 7], [1 - 0.5 / 9, 1.]])
    out = gather_sample_points(feat, pts, padding)
    assert out.shape == (2, 5, 16, 8)
    torch.testing.assert_close(out, sample_points(feat, pts, padding).permute(0, 2, 3, 1),
                               rtol=1e-12, atol=1e-12)


def test_onnx_export_samples_by_gather(monkeypatch):
    """While exporting, the mixing samples through gather_sample_points; same tokens."""
    import sfmm.models.layers.adaptive_sampling as module
    layer = AdaptiveSamplingMixing(32, 8, num_points=4).eval()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        layer.offset_fc.weight.normal_(0, 0.5, generator=g)
    x = torch.randn(2, 3, 32, generator=g)
    rois = torch.tensor([0.1, 0.2, 0.7, 0.9]).expand(2, 3, 4)
    feat = torch.randn(2, 8, 6, 6, generator=g)
    with torch.no_grad():
        ref, _ = layer(x, rois, feat)
        monkeypatch.setattr(torch.onnx, 'is_in_onnx_export', lambda: True)
        monkeypatch.setattr(module, 'sample_points', None)  # must not be called now
        out, _ = layer(x, rois, feat)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)
