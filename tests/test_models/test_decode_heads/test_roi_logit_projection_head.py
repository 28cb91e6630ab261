"""RoILogitProjectionHead: mmseg contract, attention, geometric / predictive biases, gradients."""
import math

import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from sfmm.models.decode_heads import RoILogitProjectionHead

C, D, N, NUM_CLASSES = 8, 32, 9, 5


def _head(**kwargs) -> RoILogitProjectionHead:
    cfg = dict(in_channels=(C, 4, D), channels=32, num_classes=NUM_CLASSES, num_heads=2)
    cfg.update(kwargs)
    torch.manual_seed(0)
    head = RoILogitProjectionHead(**cfg)
    head.init_weights()
    return head


def _inputs(batch=2, size=8, seed=0, requires_grad=False):
    g = torch.Generator().manual_seed(seed)
    feat = torch.randn(batch, C, size, size, generator=g)
    lo = torch.rand(batch, 5, N, 2, generator=g) * 0.6
    rois = torch.cat([lo, lo + 0.1 + 0.3 * torch.rand(batch, 5, N, 2, generator=g)], -1)
    tokens = torch.randn(batch, 1 + N, D, generator=g)
    for t in (feat, rois, tokens):
        t.requires_grad_(requires_grad)
    return feat, rois, tokens


def _samples(batch=2, size=32):
    samples = []
    for i in range(batch):
        s = SegDataSample(metainfo=dict(img_shape=(size, size), pad_shape=(size, size),
                                        ori_shape=(size, size)))
        s.gt_sem_seg = PixelData(data=torch.randint(0, NUM_CLASSES, (1, size, size)))
        samples.append(s)
    return samples


def test_forward_loss_predict():
    head = _head()
    inputs = _inputs()
    logits = head(inputs)
    assert logits.shape == (2, NUM_CLASSES, 8, 8) and logits.dtype == torch.float32
    assert torch.isfinite(logits).all()
    assert not hasattr(head, 'conv_seg')  # the unused pixel classifier is removed

    losses = head.loss(inputs, _samples(), train_cfg=dict())
    assert set(losses) == {'loss_ce', 'acc_seg'}
    assert losses['loss_ce'].ndim == 0 and torch.isfinite(losses['loss_ce'])

    metas = [s.metainfo for s in _samples()]
    seg = head.predict(inputs, metas, test_cfg=dict())
    assert seg.shape == (2, NUM_CLASSES, 32, 32)  # resized to the input image


def test_rejects_bad_inputs():
    with pytest.raises(ValueError, match='multiple_select'):
        _head(input_transform='resize_concat')
    with pytest.raises(ValueError, match='in_channels'):
        _head(in_channels=(C, D))
    head = _head(has_cls_token=False)
    with pytest.raises(ValueError, match='latent tokens'):
        head(_inputs())  # 1 + N tokens but N RoIs


def test_dense_logits_are_attention_weighted_token_logits():
    head = _head()
    inputs = _inputs()
    attn = head.attention(inputs)
    assert attn.shape == (2, 64, N)
    torch.testing.assert_close(attn.sum(-1), torch.ones(2, 64))
    assert (attn >= 0).all()
    _, token_logits = head.token_logits(inputs[2][:, 1:])
    expected = (attn @ token_logits).transpose(1, 2).reshape(2, NUM_CLASSES, 8, 8)
    torch.testing.assert_close(head(inputs), expected)


def test_attention_is_equation_7_on_a_non_square_map():
    """Scores, both biases and the softmax, written out pixel by pixel (h != w, so a row /
    column swap in the separable bias would show)."""
    head = _head(geo_scale_init=3.)
    _, rois, tokens = _inputs()
    feat = torch.randn(2, C, 5, 7)
    h, w = 5, 7
    keys, token_logits = head.token_logits(tokens[:, 1:])
    q = head.query_conv(feat).flatten(2).transpose(1, 2)  # (2, 35, d)
    r = rois[:, -1]
    cx, cy = (r[..., 0] + r[..., 2]) / 2, (r[..., 1] + r[..., 3]) / 2
    rw, rh = r[..., 2] - r[..., 0], r[..., 3] - r[..., 1]
    expected = torch.empty(2, h * w, N)
    for p in range(h * w):
        py, px = (p // w + 0.5) / h, (p % w + 0.5) / w
        geo = -3. / 2 * (((px - cx) / rw) ** 2 + ((py - cy) / rh) ** 2)  # (2, N)
        pred = head.pred_bias(keys)[..., 0]  # (2, N)
        logits = (q[:, p, None, :] * keys).sum(-1) / math.sqrt(32) + geo + pred
        expected[:, p] = logits.softmax(-1)
    attn = head.attention((feat, rois, tokens))
    torch.testing.assert_close(attn, expected)
    dense = (expected @ token_logits).transpose(1, 2).reshape(2, NUM_CLASSES, h, w)
    torch.testing.assert_close(head((feat, rois, tokens)), dense)
    head.attn_chunk_size = 10  # one 7-pixel row per chunk
    torch.testing.assert_close(head((feat, rois, tokens)), dense)
    # geometric_bias() gives the same B_geo for any pixel range
    full = head.geometric_bias(r, (h, w))
    torch.testing.assert_close(head.geometric_bias(r, (h, w), 9, 23), full[:, 9:23])


@pytest.mark.parametrize('geo,pred', [(True, True), (True, False), (False, True),
                                      (False, False)])
def test_biases_switch_off(geo, pred):
    head = _head(use_geometric_bias=geo, use_predictive_bias=pred)
    names = {n for n, _ in head.named_parameters()}
    assert ('geo_log_scale' in names) == geo
    assert any(n.startswith('pred_bias.') for n in names) == pred
    feat, rois, tokens = _inputs()
    attn = head.attention((feat, rois, tokens))
    torch.testing.assert_close(attn.sum(-1), torch.ones(2, 64))
    # the RoIs only enter through the geometric bias
    moved = head.attention((feat, rois.flip(2), tokens))
    assert torch.allclose(attn, moved) == (not geo)
    # plain softmax(QK^T / sqrt(d)) when both are off
    if not geo and not pred:
        keys, _ = head.token_logits(tokens[:, 1:])
        q = head.query_conv(feat).flatten(2).transpose(1, 2)
        torch.testing.assert_close(attn, (q @ keys.transpose(1, 2) / math.sqrt(32)).softmax(-1))


def test_predictive_bias_is_per_token():
    head = _head(use_geometric_bias=False)
    with torch.no_grad():
        head.pred_bias.weight.zero_()
        head.pred_bias.bias.fill_(3.)  # the same bias for every token: no effect
    ref = _head(use_geometric_bias=False, use_predictive_bias=False)
    ref.load_state_dict({k: v for k, v in head.state_dict().items()
                         if not k.startswith('pred_bias.')})
    inputs = _inputs()
    torch.testing.assert_close(head.attention(inputs), ref.attention(inputs))


def test_geometric_bias_peaks_at_roi_centre_in_roi_units():
    head = _head(geo_scale_init=4.)
    size = (40, 40)
    # a small and a large RoI, both centred on pixel (row 10, col 30) of a 40x40 map
    cx, cy = 30.5 / 40, 10.5 / 40
    rois = torch.tensor([[[cx - .05, cy - .1, cx + .05, cy + .1],
                          [cx - .2, cy - .4, cx + .2, cy + .4]]])
    bias = head.geometric_bias(rois, size).view(40, 40, 2)
    for n in range(2):
        b = bias[..., n]
        assert b.max().abs() < 1e-6 and b.argmax().item() == 10 * 40 + 30
        assert (b <= 0).all()
        # falls off monotonically along the row and the column away from the centre
        assert (b[10, 31:].diff() < 0).all() and (b[10, :30].diff() > 0).all()
        assert (b[11:, 30].diff() < 0).all() and (b[:10, 30].diff() > 0).all()
    # Gaussian in RoI units: -s/2 ((dx/w)^2 + (dy/h)^2); an offset of one RoI width -> -s/2
    px = (30 + 4) + 0.5  # 4 pixels right of the centre (row 10) = 0.1 = one RoI width
    dx = px / 40 - cx
    torch.testing.assert_close(bias[10, 34, 0], torch.tensor(-2. * (dx / .1) ** 2))
    # the same offset in RoI units gives the same bias for both RoIs
    small = bias[10 + 2, 30 + 1, 0]   # dy = 2 px = 0.25 h, dx = 1 px = 0.25 w
    large = bias[10 + 8, 30 + 4, 1]   # dy = 8 px = 0.25 h, dx = 4 px = 0.25 w
    torch.testing.assert_close(small, large)
    # a larger scale is a sharper Gaussian
    sharp = _head(geo_scale_init=16.).geometric_bias(rois, size).view(40, 40, 2)
    torch.testing.assert_close(sharp, bias * 4)


def test_geometric_scale_learnable_or_fixed():
    head = _head(geo_scale_init=2.)
    assert isinstance(head.geo_log_scale, torch.nn.Parameter)
    torch.testing.assert_close(head.geo_scale, torch.tensor(2.))
    fixed = _head(geo_scale_init=2., geo_scale_learnable=False)
    assert 'geo_log_scale' not in dict(fixed.named_parameters())
    assert 'geo_log_scale' in fixed.state_dict()
    with pytest.raises(ValueError):
        _head(geo_scale_init=0.)


def test_gradients_reach_tokens_rois_and_every_parameter():
    head = _head()
    feat, rois, tokens = _inputs(requires_grad=True)
    losses = head.loss((feat, rois, tokens), _samples(), train_cfg=dict())
    losses['loss_ce'].backward()
    assert tokens.grad[:, 1:].abs().sum() > 0
    assert tokens.grad[:, 0].abs().sum() == 0  # [CLS] is not used
    assert rois.grad[:, -1].abs().sum() > 0  # through the geometric bias
    assert rois.grad[:, :-1].abs().sum() == 0  # only the final RoIs are used
    assert feat.grad.abs().sum() > 0
    for name, p in head.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_chunked_attention_and_float32_under_autocast():
    head = _head().eval()
    inputs = _inputs(size=9)
    full = head(inputs)
    head.attn_chunk_size = 10  # 81 pixels in 9 chunks, the last one short
    torch.testing.assert_close(head(inputs), full)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = head(inputs)
    assert out.dtype == torch.float32


def _stride2_head(**kwargs) -> RoILogitProjectionHead:
    return _head(query_scale=2, in_channels=(C, 4, D, C), in_index=(0, 1, 2, 3), **kwargs)


def test_query_scale_2_queries_come_from_the_stride2_map():
    """With query_scale=2 the queries are the 3x3 conv of the fourth input (the backbone's
    'feat_map_s2'), attention and logits at its size; the stride-4 map is not read."""
    head = _stride2_head(geo_scale_init=3.)
    feat, rois, tokens = _inputs(size=4)
    feat_s2 = torch.randn(2, C, 7, 8)  # ceil(7 / 2), ceil(8 / 2) = the 4 x 4 feat_map
    out = head((feat, rois, tokens, feat_s2))
    assert out.shape == (2, NUM_CLASSES, 7, 8)
    # eq. (7) written out on the stride-2 map
    h, w = 7, 8
    keys, token_logits = head.token_logits(tokens[:, 1:])
    q = torch.nn.functional.conv2d(feat_s2, head.query_conv.weight, head.query_conv.bias,
                                   padding=1).flatten(2).transpose(1, 2)
    r = rois[:, -1]
    cx, cy = (r[..., 0] + r[..., 2]) / 2, (r[..., 1] + r[..., 3]) / 2
    rw, rh = r[..., 2] - r[..., 0], r[..., 3] - r[..., 1]
    ys = (torch.arange(h) + 0.5) / h
    xs = (torch.arange(w) + 0.5) / w
    py, px = ys.repeat_interleave(w), xs.repeat(h)  # pixel centres, row-major
    geo = -1.5 * (((px[None, :, None] - cx[:, None]) / rw[:, None]) ** 2
                  + ((py[None, :, None] - cy[:, None]) / rh[:, None]) ** 2)
    scores = q @ keys.transpose(1, 2) / math.sqrt(32) + geo + head.pred_bias(keys)[..., 0][:, None]
    expected = (scores.softmax(-1) @ token_logits).transpose(1, 2).reshape(2, -1, h, w)
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(head.attention((feat, rois, tokens, feat_s2)).sum(-1),
                               torch.ones(2, h * w))
    # the stride-4 map does not enter; the stride-2 map does
    torch.testing.assert_close(head((torch.randn_like(feat), rois, tokens, feat_s2)), out)
    assert not torch.allclose(head((feat, rois, tokens, feat_s2 + torch.randn_like(feat_s2))),
                              out)
    # a map that is not feat_map's stride-2 map (e.g. indices swapped) is refused
    with pytest.raises(ValueError, match='stride-2 map'):
        head((feat, rois, tokens, torch.randn(2, C, 16, 16)))
    with pytest.raises(ValueError, match='query_scale'):
        _head(query_scale=0)
    with pytest.raises(ValueError, match='query_scale'):
        _head(query_scale=4)
    with pytest.raises(ValueError, match=r'\(C, 4, D, C\)'):
        _head(query_scale=2)  # in_channels without the stride-2 map


def test_losses_resolve_in_mmseg_scope_from_any_default_scope():
    from mmengine.registry import DefaultScope
    from mmseg.models.losses import CrossEntropyLoss
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        head = _head()
    assert isinstance(head.loss_decode, CrossEntropyLoss)
