"""Tests of the v1 SparseFormer backbone: shapes, gradients, init, drop path, strict loading."""
import math

import pytest
import torch

from sfmm.models.backbones import SparseFormerV1
from sfmm.models.backbones.sparseformer import OUT_KEYS

TINY = dict(focus_dims=64, embed_dims=128, num_layers=3, num_heads=64)


def _tiny(**kwargs) -> SparseFormerV1:
    cfg = dict(arch=TINY, num_latent_tokens=4, num_points=4, conv_channels=8, focus_repeats=2)
    cfg.update(kwargs)
    return SparseFormerV1(**cfg)


def _perturb(model: torch.nn.Module, seed: int = 0) -> None:
    """Move every parameter off its (partly zero) initialisation so all branches are live."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith('init_rois.weight'):
                continue
            p.add_(torch.randn(p.shape, generator=g) * 0.02)


@pytest.mark.parametrize('hw', [(64, 64), (48, 80), (33, 65)])
@pytest.mark.parametrize('tokens', [1, 4, 9])
def test_output_shapes(hw, tokens):
    model = _tiny(num_latent_tokens=tokens, out_keys=OUT_KEYS).eval()
    _perturb(model)
    H, W = hw
    outs = model(torch.randn(2, 3, H, W))
    assert isinstance(outs, tuple) and len(outs) == len(OUT_KEYS)
    feat, rois, points, toks, embed = outs
    assert feat.shape == (2, 8, math.ceil(H / 4), math.ceil(W / 4))
    assert rois.shape == (2, 2 + 2, tokens, 4)  # initial, 2 focusing repeats, cortex unit
    assert points.shape == (2, tokens, 4, 2)
    assert toks.shape == (2, tokens, 128)
    assert embed.shape == (2, 128)
    for o in outs:
        assert not torch.isnan(o).any()
        assert o.dtype == torch.float32


@pytest.mark.parametrize('key', OUT_KEYS)
def test_single_out_key(key):
    outs = _tiny(out_keys=(key, ))(torch.randn(1, 3, 64, 64))
    assert isinstance(outs, tuple) and len(outs) == 1


def test_embed_is_norm_of_token_mean_and_rois_chain():
    model = _tiny(out_keys=('tokens', 'rois', 'embed')).eval()
    _perturb(model)
    toks, rois, embed = model(torch.randn(2, 3, 64, 64))
    torch.testing.assert_close(embed, model.norm(toks.mean(1)))
    # index 0 is the learned initial RoI; the focusing repeats move the RoIs
    torch.testing.assert_close(rois[:, 0], model.init_rois.weight.expand(2, -1, -1))
    assert not torch.equal(rois[:, 1], rois[:, 0]) and not torch.equal(rois[:, 3], rois[:, 2])


def test_forward_dict_has_every_output_and_out_keys_are_fixed():
    model = _tiny(out_keys=('embed', )).eval()
    _perturb(model)
    x = torch.randn(2, 3, 64, 64)
    outs = model.forward_dict(x)
    assert set(outs) == set(OUT_KEYS)
    assert torch.equal(outs['embed'], model(x)[0])
    with pytest.raises(AttributeError):
        model.out_keys = ('tokens', )


def test_invalid_arguments():
    with pytest.raises(ValueError, match='bogus'):
        _tiny(out_keys=('embed', 'bogus'))
    with pytest.raises(ValueError, match='perfect square'):
        _tiny(num_points=8)
    with pytest.raises(ValueError, match='num_latent_tokens'):
        _tiny(num_latent_tokens=0)
    with pytest.raises(ValueError, match='focus_repeats'):
        _tiny(focus_repeats=0)
    with pytest.raises(ValueError, match='num_layers'):
        _tiny(arch=dict(TINY, num_layers=0))
    with pytest.raises(ValueError, match='num_heads'):
        _tiny(arch=dict(TINY, focus_dims=96))
    with pytest.raises(ValueError, match='missing keys'):
        _tiny(arch=dict(focus_dims=64))
    with pytest.raises(ValueError, match='unknown keys'):
        _tiny(arch=dict(TINY, act='quick_gelu'))
    with pytest.raises(ValueError, match='unknown'):
        SparseFormerV1('huge')


@pytest.mark.parametrize('arch,tokens,params', [('tiny', 49, 31.009), ('small', 64, 46.934),
                                                ('base', 81, 80.308)])
def test_presets(arch, tokens, params):
    # released modules (fvcore): T 31.52M, S 47.58M, B 81.08M with the 1000-way classifier
    # (D * 1000 + 1000 = 0.513 / 0.641 / 0.769M), which sfmm keeps in the head
    with torch.device('meta'):
        model = SparseFormerV1(arch)
    assert model.num_latent_tokens == tokens and model.init_embed.weight.shape[0] == tokens
    assert abs(sum(p.numel() for p in model.parameters()) / 1e6 - params) < 0.001
    assert model.focus.attn.num_heads == model.final.attn.num_heads == 64
    assert all(b.attn.num_heads == 64 for b in model.blocks)
    assert len(model.blocks) == model.num_layers - 1 == {'base': 9}.get(arch, 7)
    # parameter generators: hidden int(0.25 * width), 36 points mixed to max(36, 32) = 36
    assert model.focus.sampling.param_fc1.out_features == model.focus_dims // 4
    assert model.final.sampling.param_fc1.out_features == model.embed_dims // 4
    assert model.final.sampling.out_points == 36


def test_every_parameter_gets_gradient():
    model = _tiny()
    _perturb(model)
    model.train()
    out, = model(torch.randn(2, 3, 64, 48))
    out.sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, f'no gradient for {name}'
        assert p.grad.abs().sum() > 0, f'zero gradient for {name}'


def test_gradient_at_initialisation():
    model = _tiny().train()
    out, = model(torch.randn(2, 3, 64, 64))
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_drop_path_schedule():
    # released: linspace(0, rate, sum of repeats) = 4 focusing repeats + 1 + 7 (tiny)
    with torch.device('meta'):
        model = SparseFormerV1('tiny', drop_path_rate=0.2)
    rates = torch.linspace(0, 0.2, 12).tolist()
    assert model.focus.drop_path_rates == pytest.approx(rates[:4])
    assert model.final.drop_path_rates == pytest.approx(rates[4:5])
    assert [b.drop_path.drop_prob for b in model.blocks] == pytest.approx(rates[5:])
    with torch.device('meta'):
        base = SparseFormerV1('base', drop_path_rate=0.4)
    assert base.blocks[-1].drop_path.drop_prob == pytest.approx(0.4)
    assert base.final.drop_path_rates == pytest.approx([0.4 * 4 / 13])


def test_drop_path_train_eval():
    model = _tiny(drop_path_rate=0.5)
    _perturb(model)
    x = torch.randn(4, 3, 64, 64)
    model.eval()
    torch.testing.assert_close(model(x)[0], model(x)[0])
    model.train()
    torch.manual_seed(0)
    a = model(x)[0]
    torch.manual_seed(1)
    assert not torch.allclose(a, model(x)[0])


def test_drop_path_is_per_sample():
    # sfmm drops a whole sample's branch (mask (B, 1, 1)); the released DropPath(batch_first)
    # would build an (N, 1, 1) mask, which does not broadcast against (B, N, C) tokens. Eight
    # copies of one image must therefore come out different while training.
    model = _tiny(drop_path_rate=0.5)
    _perturb(model)
    model.train()
    torch.manual_seed(0)
    out, = model(torch.randn(1, 3, 64, 64).expand(8, -1, -1, -1))
    assert len({tuple(row.tolist()) for row in out}) > 1


def test_initialisation_rules():
    model = _tiny(num_latent_tokens=6)
    for unit, w in ((model.focus, 64), (model.final, 128)):
        s = unit.sampling
        assert (unit.roi_adjust.fc.weight == 0).all()
        assert (s.offset_fc.weight == 0).all() and (s.param_fc2.weight == 0).all()
        assert (s.channel_bias == 0).all() and (s.spatial_bias == 0).all()
        assert s.channel_bias.shape == (8, ) and s.spatial_bias.shape == (32, )
        for ln in (unit.roi_adjust.norm, s.offset_norm, s.param_norm):
            torch.testing.assert_close(ln.weight, torch.full((w, ), w**-0.5))
            assert (ln.bias == 0).all()
        # eps: 1e-6 everywhere except the parameter generator's default-built LayerNorm
        assert s.param_norm.eps == 1e-5
        assert unit.norm1.eps == unit.norm2.eps == unit.roi_adjust.norm.eps == 1e-6
        assert s.offset_norm.eps == 1e-6
        assert s.padding_mode == 'zeros' and s.mixing_bias
        # offset bias: 2x2 grid of cell centres minus 0.5
        expected = torch.tensor([[-.25, -.25], [.25, -.25], [-.25, .25], [.25, .25]])
        torch.testing.assert_close(s.offset_bias.view(4, 2), expected)
        # parameter generator bias: Xavier uniform on (C, C) and (P, P_out)
        C, P, Po = 8, 4, 32
        bias = s.param_fc2.bias
        bound_c, bound_s = math.sqrt(6 / (2 * C)), math.sqrt(6 / (P + Po))
        assert bound_c / 2 < bias[:C * C].abs().max() <= bound_c
        assert bound_s / 2 < bias[C * C:].abs().max() <= bound_s
    for ln in (model.focus.norm1, model.final.norm2, model.transition_norm, model.norm,
               model.blocks[0].norm1):
        assert (ln.weight == 1).all() and (ln.bias == 0).all()
        assert ln.eps == 1e-6
    w = model.blocks[0].mlp.fc1.weight
    assert abs(w.std().item() - 0.02) < 0.002 and w.abs().max() <= 2
    assert (model.focus.attn.qkv.bias == 0).all() and (model.transition.bias == 0).all()
    # initial RoIs: 2x2 grid of half-size boxes, remaining tokens the whole image
    expected = torch.tensor([[0, 0, .5, .5], [0, .5, .5, 1], [.5, 0, 1, .5], [.5, .5, 1, 1],
                             [0, 0, 1, 1], [0, 0, 1, 1]])
    torch.testing.assert_close(model.init_rois.weight, expected)
    # one initial embedding per token: truncated normal std 1, cut at +-2
    assert model.init_embed.weight.shape == (6, 64)
    assert model.init_embed.weight.abs().max() <= 2
    std = model.stem.conv.weight.std().item()
    assert abs(std - math.sqrt(2 / (8 * 49))) < 0.25 * math.sqrt(2 / (8 * 49))


def test_build_from_registry():
    from sfmm.registry import MODELS
    model = MODELS.build(dict(type='sfmm.SparseFormerV1', arch=dict(TINY, num_layers=1),
                              num_latent_tokens=4, num_points=4, conv_channels=8,
                              focus_repeats=1))
    assert isinstance(model, SparseFormerV1) and len(model.blocks) == 0
    assert model(torch.randn(1, 3, 64, 64))[0].shape == (1, 128)


def test_get_layer_depth():
    model = _tiny()
    assert model.get_layer_depth('backbone.stem.conv.weight', 'backbone.') == (0, 5)
    assert model.get_layer_depth('backbone.focus.attn.qkv.weight', 'backbone.') == (0, 5)
    assert model.get_layer_depth('backbone.transition_norm.bias', 'backbone.') == (0, 5)
    assert model.get_layer_depth('backbone.final.sampling.param_fc2.bias', 'backbone.') == (1, 5)
    assert model.get_layer_depth('backbone.blocks.0.norm1.weight', 'backbone.') == (2, 5)
    assert model.get_layer_depth('backbone.blocks.1.mlp.fc2.bias', 'backbone.') == (3, 5)
    assert model.get_layer_depth('backbone.norm.weight', 'backbone.') == (4, 5)
    assert model.get_layer_depth('head.fc.weight', 'backbone.') == (4, 5)
    for name, _ in model.named_parameters():
        depth, n = model.get_layer_depth(name)
        assert 0 <= depth < n


def test_pretrained_init_strict(tmp_path):
    src = _tiny()
    _perturb(src)
    path = str(tmp_path / 'ckpt.pth')
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in src.state_dict().items()},
                'meta': {}}, path)
    dst = _tiny(init_cfg=dict(type='Pretrained', checkpoint=path, prefix='backbone.'))
    dst.init_weights()
    for k, v in src.state_dict().items():
        torch.testing.assert_close(dst.state_dict()[k], v)
    x = torch.randn(1, 3, 64, 64)
    torch.testing.assert_close(dst.eval()(x)[0], src.eval()(x)[0])

    sd = {f'backbone.{k}': v for k, v in src.state_dict().items()
          if k != 'final.sampling.channel_bias'}
    torch.save(sd, path)
    with pytest.raises(KeyError, match=r'missing keys \[.final\.sampling\.channel_bias.\]'):
        _tiny(init_cfg=dict(type='Pretrained', checkpoint=path,
                            prefix='backbone.')).init_weights()
    sd = {f'backbone.{k}': v for k, v in src.state_dict().items()}
    sd['backbone.cls_token.weight'] = torch.zeros(1, 128)
    torch.save(sd, path)
    with pytest.raises(KeyError, match=r'unexpected keys \[.cls_token\.weight.\]'):
        _tiny(init_cfg=dict(type='Pretrained', checkpoint=path,
                            prefix='backbone.')).init_weights()
    with pytest.raises(KeyError, match='prefix'):
        _tiny(init_cfg=dict(type='Pretrained', checkpoint=path,
                            prefix='model.')).init_weights()


def test_bootstrapped_checkpoint_is_rejected(tmp_path):
    from sfmm.models.backbones import SparseFormer
    boot = SparseFormer(dict(focus_dims=64, embed_dims=128, num_layers=2, num_heads=2),
                        num_latent_tokens=4, num_points=4, conv_channels=8, focus_repeats=2)
    path = str(tmp_path / 'boot.pth')
    torch.save(boot.state_dict(), path)
    with pytest.raises(KeyError, match='cls_token.weight'):
        _tiny(init_cfg=dict(type='Pretrained', checkpoint=path)).init_weights()
