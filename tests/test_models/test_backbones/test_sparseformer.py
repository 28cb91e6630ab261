"""Tests of the SparseFormer backbone: shapes, gradients, init, loading, released equivalence."""
import importlib.util
import math
import os.path as osp

import pytest
import torch

from sfmm.models.backbones import SparseFormer
from sfmm.models.backbones.sparseformer import OUT_KEYS, initial_roi_grid

REF_PATH = osp.join(osp.dirname(osp.dirname(osp.dirname(__file__))), 'reference',
                    'released_sparseformer.py')
TINY = dict(focus_dims=64, embed_dims=64, num_layers=2, num_heads=2)


def _reference():
    spec = importlib.util.spec_from_file_location('released_sparseformer', REF_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tiny(**kwargs) -> SparseFormer:
    cfg = dict(arch=TINY, num_latent_tokens=5, num_points=4, conv_channels=8, focus_repeats=2)
    cfg.update(kwargs)
    return SparseFormer(**cfg)


def _perturb(model: torch.nn.Module, seed: int = 0) -> None:
    """Move every parameter off its (partly zero) initialisation so all branches are live."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith('init_rois.weight'):
                continue
            p.add_(torch.randn(p.shape, generator=g) * 0.02)


@pytest.mark.parametrize('hw', [(64, 64), (48, 80), (33, 65)])
@pytest.mark.parametrize('tokens', [1, 5, 9])
def test_output_shapes(hw, tokens):
    model = _tiny(num_latent_tokens=tokens, out_keys=OUT_KEYS).eval()
    H, W = hw
    outs = model(torch.randn(2, 3, H, W))
    assert isinstance(outs, tuple) and len(outs) == len(OUT_KEYS)
    feat, rois, points, toks, embed = outs
    assert feat.shape == (2, 8, math.ceil(H / 4), math.ceil(W / 4))
    assert rois.shape == (2, 3, tokens, 4)
    assert points.shape == (2, tokens, 4, 2)
    assert toks.shape == (2, tokens + 1, 64)
    assert embed.shape == (2, 64)
    for o in outs:
        assert not torch.isnan(o).any()
        assert o.dtype == torch.float32


@pytest.mark.parametrize('key', OUT_KEYS)
def test_single_out_key(key):
    outs = _tiny(out_keys=(key, ))(torch.randn(1, 3, 64, 64))
    assert isinstance(outs, tuple) and len(outs) == 1


def test_out_keys_order_and_proj():
    arch = dict(TINY, proj_dims=16, act='quick_gelu')
    model = _tiny(arch=arch, out_keys=('tokens', 'embed')).eval()
    toks, embed = model(torch.randn(2, 3, 64, 64))
    assert embed.shape == (2, 16)
    assert model.proj.bias is None
    expected = model.proj(model.norm(toks[:, 0]))
    torch.testing.assert_close(embed, expected)


@pytest.mark.parametrize('num_layers', [1, 3])
def test_cls_only_last_block_gives_the_same_outputs(num_layers):
    arch = dict(TINY, num_layers=num_layers, proj_dims=16, act='quick_gelu')
    full = _tiny(arch=arch, out_keys=OUT_KEYS).eval()
    _perturb(full)
    fast = _tiny(arch=arch, out_keys=('feat_map', 'rois', 'points', 'embed'),
                 cls_only_last_block=True).eval()
    fast.load_state_dict(full.state_dict(), strict=True)
    assert fast.cls_only_last_block and not full.cls_only_last_block
    x = torch.randn(2, 3, 48, 64)
    feat, rois, points, toks, embed = full(x)
    outs = fast(x)
    for a, b in zip(outs, (feat, rois, points, embed)):
        torch.testing.assert_close(a, b)
    torch.testing.assert_close(embed, full.proj(full.norm(toks[:, 0])))
    # the last block really computes its [CLS] row alone
    rows = []
    fast.blocks[-1].mlp.register_forward_hook(lambda m, args, out: rows.append(out.shape[1]))
    fast(x)
    assert rows == [1]


def test_cls_only_last_block_refuses_token_outputs():
    with pytest.raises(ValueError, match="'tokens'.*cls_only_last_block"):
        _tiny(out_keys=('tokens', 'embed'), cls_only_last_block=True)


def test_out_keys_are_fixed_and_forward_dict_has_every_output():
    model = _tiny(out_keys=('embed', )).eval()
    with pytest.raises(AttributeError):
        model.out_keys = ('rois', )
    x = torch.randn(2, 3, 64, 64)
    outs = model.forward_dict(x)
    assert set(outs) == {'feat_map', 'rois', 'points', 'tokens', 'embed'}
    assert torch.equal(outs['embed'], model(x)[0])
    seg = _tiny(out_keys=('feat_map', 'rois', 'tokens')).eval()
    assert 'embed' not in seg.forward_dict(x)  # no embedding head built
    assert set(seg.forward_dict(x, with_s2=True)) == {
        'feat_map', 'feat_map_s2', 'rois', 'points', 'tokens'}
    fast = _tiny(cls_only_last_block=True).eval()
    assert set(fast.forward_dict(x)) == {'feat_map', 'rois', 'points', 'embed'}


def test_invalid_arguments():
    with pytest.raises(ValueError, match='bogus'):
        _tiny(out_keys=('embed', 'bogus'))
    with pytest.raises(ValueError, match='feat_map'):
        _tiny(out_keys=('nope', ))
    with pytest.raises(ValueError, match='perfect square'):
        _tiny(num_points=8)
    with pytest.raises(ValueError, match='num_points'):
        _tiny(num_points=0)
    with pytest.raises(ValueError, match='num_latent_tokens'):
        _tiny(num_latent_tokens=0)
    with pytest.raises(ValueError, match='96'):
        _tiny(arch=dict(TINY, focus_dims=96))
    with pytest.raises(ValueError, match='66'):
        _tiny(arch=dict(TINY, embed_dims=66, num_heads=1))
    with pytest.raises(ValueError, match='num_heads'):
        _tiny(arch=dict(TINY, num_heads=3))
    with pytest.raises(ValueError, match='missing keys'):
        _tiny(arch=dict(focus_dims=64))
    with pytest.raises(ValueError, match='unknown'):
        SparseFormer('x-huge')


@pytest.mark.parametrize('arch,params', [('b-augreg', 63.4), ('b-clip', 63.8),
                                         ('l-augreg', 211.4)])
def test_presets_parameter_count(arch, params):
    # SPEC: SF-B AugReg 64.2M with its 1000-way classifier (0.77M), SF-B CLIP 63.8M,
    # SF-L AugReg 212.4M with classifier (1.03M).
    with torch.device('meta'):
        model = SparseFormer(arch)
    n = sum(p.numel() for p in model.parameters()) / 1e6
    assert abs(n - params) < 0.1


def test_every_parameter_gets_gradient():
    model = _tiny(out_keys=('embed', ))
    _perturb(model)
    model.train()
    out, = model(torch.randn(2, 3, 64, 48))
    out.sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, f'no gradient for {name}'
        assert p.grad.abs().sum() > 0, f'zero gradient for {name}'


def test_gradient_at_initialisation_reaches_new_parts():
    model = _tiny(out_keys=('embed', )).train()
    out, = model(torch.randn(2, 3, 64, 64))
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_drop_path_train_eval():
    model = _tiny(drop_path_rate=0.5).eval()
    x = torch.randn(2, 3, 64, 64)
    torch.testing.assert_close(model(x)[0], model(x)[0])
    assert model.blocks[-1].drop_path.drop_prob == 0.5


def test_drop_path_schedule_spans_focusing_and_cortex():
    """Released schedule: linspace(0, rate, R + 1 + L) over the focusing repeats, the final
    sampling unit and the cortex blocks."""
    model = _tiny(drop_path_rate=0.4)  # R = 2 repeats, L = 2 blocks: 5 rates
    rates = torch.linspace(0, 0.4, 5).tolist()
    assert model.focus.drop_path_rates == pytest.approx(rates[:2])
    assert model.final.drop_path_rate == pytest.approx(rates[2])
    assert [b.drop_path.drop_prob for b in model.blocks] == pytest.approx(rates[3:])


def test_drop_path_reaches_focusing_branches():
    """In training the focusing repeats drop their branches per sample; eval never does."""
    model = _tiny(drop_path_rate=0.9)
    _perturb(model)
    x = torch.randn(8, 3, 32, 32)
    model.train()
    torch.manual_seed(0)
    a = model.focus(model.init_embed.weight.expand(8, 5, -1), model.init_rois.weight.expand(
        8, 5, 4), model.stem(x))[0]
    torch.manual_seed(1)
    b = model.focus(model.init_embed.weight.expand(8, 5, -1), model.init_rois.weight.expand(
        8, 5, 4), model.stem(x))[0]
    assert not torch.allclose(a, b)
    model.eval()
    with torch.no_grad():
        c = model.focus(model.init_embed.weight.expand(8, 5, -1),
                        model.init_rois.weight.expand(8, 5, 4), model.stem(x))[0]
        d = model.focus(model.init_embed.weight.expand(8, 5, -1),
                        model.init_rois.weight.expand(8, 5, 4), model.stem(x))[0]
    torch.testing.assert_close(c, d)


def test_initialisation_rules():
    model = _tiny(num_latent_tokens=6, num_points=4)
    sampling = model.focus.sampling
    # zero-initialised last Linears
    assert (sampling.offset_fc.weight == 0).all()
    assert (model.final.sampling.offset_fc.weight == 0).all()
    assert (model.focus.roi_adjust.fc2.weight == 0).all()
    assert (sampling.param_fc2.weight == 0).all()
    # branch-opening LayerNorms start at width**-0.5
    for ln, w in ((sampling.offset_norm, 64), (sampling.param_norm, 64),
                  (model.focus.roi_adjust.norm, 64), (model.final.sampling.param_norm, 64)):
        torch.testing.assert_close(ln.weight, torch.full((w, ), w**-0.5))
        assert (ln.bias == 0).all()
    for ln in (model.focus.norm1, model.focus.pos_enc.norm, model.norm, model.blocks[0].norm2):
        assert (ln.weight == 1).all() and (ln.bias == 0).all()
    # Linear: truncated normal std .02 (torch's absolute cut at +-2, as timm/released), bias 0
    w = model.blocks[0].mlp.fc1.weight
    assert abs(w.std().item() - 0.02) < 0.002 and w.abs().max() <= 2
    assert (model.blocks[0].attn.qkv.bias == 0).all() and (model.transition.bias == 0).all()
    # offset bias: 2x2 grid of cell centres minus 0.5
    expected = torch.tensor([[-.25, -.25], [.25, -.25], [-.25, .25], [.25, .25]])
    torch.testing.assert_close(sampling.offset_bias.view(4, 2), expected)
    # parameter generator bias: Xavier uniform on (C, C) and (P, P_out)
    C, P, Po = 8, 4, 32
    bias = sampling.param_fc2.bias
    bound_c, bound_s = math.sqrt(6 / (2 * C)), math.sqrt(6 / (P + Po))
    assert bias[:C * C].abs().max() <= bound_c and bias[:C * C].abs().max() > bound_c / 2
    assert bias[C * C:].abs().max() <= bound_s and bias[C * C:].abs().max() > bound_s / 2
    # initial RoIs: 2x2 grid of half-size boxes, remaining tokens whole image
    expected = torch.tensor([[0, 0, .5, .5], [0, .5, .5, 1], [.5, 0, 1, .5], [.5, .5, 1, 1],
                             [0, 0, 1, 1], [0, 0, 1, 1]])
    torch.testing.assert_close(model.init_rois.weight, expected)
    # initial embedding: truncated normal, std 1, cut at +-2
    assert model.init_embed.weight.abs().max() <= 2
    # early conv: Kaiming normal fan_out; the bias keeps nn.Conv2d's U(+-1/sqrt(fan_in))
    std = model.stem.conv.weight.std().item()
    assert abs(std - math.sqrt(2 / (8 * 49))) < 0.25 * math.sqrt(2 / (8 * 49))
    bias = model.stem.conv.bias
    assert bias.abs().max() <= (3 * 49)**-0.5 and bias.abs().max() > 0.3 * (3 * 49)**-0.5


def test_initial_roi_grid_corner_cases():
    torch.testing.assert_close(initial_roi_grid(1), torch.tensor([[0., 0., 1., 1.]]))
    rois = initial_roi_grid(48)
    assert rois.shape == (48, 4)
    g = torch.arange(6) / 5
    # token (i, j) = i * 6 + j spans [g_i/2, g_j/2, g_i/2 + .5, g_j/2 + .5]
    torch.testing.assert_close(rois[2 * 6 + 3], torch.tensor(
        [g[2] * .5, g[3] * .5, g[2] * .5 + .5, g[3] * .5 + .5]))
    assert (rois[36:] == torch.tensor([0., 0., 1., 1.])).all()


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_cpu_autocast(dtype):
    model = _tiny(out_keys=OUT_KEYS).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.autocast('cpu', dtype=dtype):
        feat, rois, points, toks, embed = model(x)
    for o in (feat, rois, points, toks, embed):
        assert not torch.isnan(o).any()
    # the sampling maths stays float32
    assert feat.dtype == rois.dtype == points.dtype == torch.float32
    ref = model(x)[-1]
    assert (embed.float() - ref).abs().max() < 0.1 * ref.abs().max()


def test_autocast_backward():
    model = _tiny().train()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out, = model(torch.randn(2, 3, 64, 64))
    out.float().sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_fp16_autocast():
    model = _tiny().cuda().eval()
    with torch.autocast('cuda', dtype=torch.float16):
        out, = model(torch.randn(2, 3, 64, 64, device='cuda'))
    assert not torch.isnan(out).any()


def test_build_from_registry():
    from sfmm.registry import MODELS
    model = MODELS.build(dict(type='sfmm.SparseFormer', arch=TINY, num_latent_tokens=4,
                              num_points=4, conv_channels=8, focus_repeats=1))
    assert isinstance(model, SparseFormer)
    assert model(torch.randn(1, 3, 64, 64))[0].shape == (1, 64)


def test_get_layer_depth():
    model = _tiny()
    assert model.get_layer_depth('backbone.stem.conv.weight', 'backbone.') == (0, 4)
    assert model.get_layer_depth('backbone.focus.attn.qkv.weight', 'backbone.') == (0, 4)
    assert model.get_layer_depth('backbone.cls_token.weight', 'backbone.') == (0, 4)
    assert model.get_layer_depth('backbone.final.pos_enc.proj.bias', 'backbone.') == (0, 4)
    assert model.get_layer_depth('backbone.blocks.0.norm1.weight', 'backbone.') == (1, 4)
    assert model.get_layer_depth('backbone.blocks.1.mlp.fc2.bias', 'backbone.') == (2, 4)
    assert model.get_layer_depth('backbone.norm.weight', 'backbone.') == (3, 4)
    assert model.get_layer_depth('head.fc.weight', 'backbone.') == (3, 4)
    for name, _ in model.named_parameters():
        depth, n = model.get_layer_depth(name)
        assert 0 <= depth < n


def test_pretrained_init_strict(tmp_path):
    src = _tiny(arch=dict(TINY, proj_dims=8))
    _perturb(src)
    path = str(tmp_path / 'ckpt.pth')
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in src.state_dict().items()},
                'meta': {}}, path)
    dst = _tiny(arch=dict(TINY, proj_dims=8),
                init_cfg=dict(type='Pretrained', checkpoint=path, prefix='backbone.'))
    dst.init_weights()
    for k, v in src.state_dict().items():
        torch.testing.assert_close(dst.state_dict()[k], v)

    # a missing key is reported by name
    sd = {f'backbone.{k}': v for k, v in src.state_dict().items() if k != 'focus.mlp.fc1.bias'}
    torch.save(sd, path)
    with pytest.raises(KeyError, match='focus.mlp.fc1.bias'):
        _tiny(arch=dict(TINY, proj_dims=8), init_cfg=dict(
            type='Pretrained', checkpoint=path, prefix='backbone.')).init_weights()
    # an unexpected key is reported by name
    sd = {f'backbone.{k}': v for k, v in src.state_dict().items()}
    sd['backbone.extra.weight'] = torch.zeros(1)
    torch.save(sd, path)
    with pytest.raises(KeyError, match='extra.weight'):
        _tiny(arch=dict(TINY, proj_dims=8), init_cfg=dict(
            type='Pretrained', checkpoint=path, prefix='backbone.')).init_weights()
    # a wrong prefix finds nothing
    with pytest.raises(KeyError, match='prefix'):
        _tiny(arch=dict(TINY, proj_dims=8), init_cfg=dict(
            type='Pretrained', checkpoint=path, prefix='model.')).init_weights()


def test_pretrained_allow_missing_focusing(tmp_path):
    src = _tiny()
    _perturb(src)
    cortex = {k: v for k, v in src.state_dict().items() if k.startswith(('blocks', 'norm'))}
    path = str(tmp_path / 'cortex.pth')
    torch.save(cortex, path)
    with pytest.raises(KeyError, match='stem.conv.weight'):
        _tiny(init_cfg=dict(type='Pretrained', checkpoint=path)).init_weights()
    dst = _tiny(init_cfg=dict(type='Pretrained', checkpoint=path, allow_missing=('focusing', )))
    fresh_stem = dst.stem.conv.weight.clone()
    dst.init_weights()
    torch.testing.assert_close(dst.blocks[1].mlp.fc2.weight, src.blocks[1].mlp.fc2.weight)
    torch.testing.assert_close(dst.stem.conv.weight, fresh_stem)


def test_pretrained_init_from_released_checkpoint(tmp_path):
    ref = _reference()
    sd = ref.random_released_state_dict(proj_bias=False)
    path = str(tmp_path / 'released.pth')
    torch.save({'model': sd}, path)
    model = SparseFormer(dict(focus_dims=64, embed_dims=128, num_layers=2, num_heads=2,
                              act='quick_gelu', proj_dims=10), num_latent_tokens=5,
                         num_points=4, conv_channels=8, focus_repeats=2,
                         init_cfg=dict(type='Pretrained', checkpoint=path))
    model.init_weights()
    torch.testing.assert_close(model.proj.weight, sd['proj.weight'])
    torch.testing.assert_close(model.blocks[1].attn.qkv.weight, sd['layers.4.attn.qkv.weight'])


SEG_KEYS = ('feat_map', 'rois', 'tokens')


def test_embed_head_is_built_only_for_embed():
    """Without 'embed' the final norm and projection do not exist, so a segmenter's backbone
    has no parameter that no output uses (DDP without find_unused_parameters)."""
    model = _tiny(arch=dict(TINY, proj_dims=8), out_keys=SEG_KEYS)
    assert not model.with_embed_head and model.norm is None and model.proj is None
    assert not any(k.startswith(('norm.', 'proj.')) for k in model.state_dict())
    full = _tiny(arch=dict(TINY, proj_dims=8))
    assert full.with_embed_head
    assert set(full.state_dict()) - set(model.state_dict()) == {
        'norm.weight', 'norm.bias', 'proj.weight'}
    _perturb(model)
    feat, rois, toks = model.train()(torch.randn(2, 3, 64, 48))
    (feat.sum() + rois.sum() + toks.sum()).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, f'no gradient for {name}'
    # the outputs are fixed at construction; forward_dict has no embedding either
    with pytest.raises(AttributeError):
        model.out_keys = ('tokens', 'embed')
    assert 'embed' not in model.forward_dict(torch.randn(1, 3, 32, 32))


def _channel_norm_by_hand(x, eps=1e-5):
    mean = x.mean(1, keepdim=True)
    var = ((x - mean) ** 2).mean(1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps)


@pytest.mark.parametrize('hw', [(64, 48), (33, 65)])
def test_feat_map_s2_is_the_pre_pool_map(hw):
    """'feat_map_s2' = channel norm of ReLU(conv) before the max-pool; 'feat_map' is its
    pooled form (SPEC data flow 1, written out with plain conv / ReLU / pool here)."""
    model = _tiny(out_keys=('feat_map', 'feat_map_s2', 'embed')).eval()
    _perturb(model)
    x = torch.randn(2, 3, *hw)
    feat, feat_s2, embed = model(x)
    conv = torch.nn.functional.conv2d(x, model.stem.conv.weight, model.stem.conv.bias,
                                      stride=2, padding=3).clamp(min=0)
    pooled = torch.nn.functional.max_pool2d(conv, 3, 2, 1)
    assert feat_s2.shape == (2, 8, math.ceil(hw[0] / 2), math.ceil(hw[1] / 2))
    torch.testing.assert_close(feat_s2, _channel_norm_by_hand(conv), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(feat, _channel_norm_by_hand(pooled), rtol=1e-4, atol=1e-4)
    # asking for the stride-2 map changes none of the other outputs
    other = _tiny(out_keys=('feat_map', 'embed')).eval()
    other.load_state_dict(model.state_dict(), strict=True)
    feat_only, embed_only = other(x)
    assert torch.equal(feat_only, feat) and torch.equal(embed_only, embed)


def test_pretrained_drop_keys_of_the_embedding_head(tmp_path):
    """A bootstrap / classification checkpoint (with norm and proj) loads into a backbone
    without them only when drop_keys names them; everything else stays strict."""
    arch = dict(TINY, proj_dims=8)
    src = _tiny(arch=arch)
    _perturb(src)
    path = str(tmp_path / 'boot.pth')
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in src.state_dict().items()}}, path)
    init = dict(type='Pretrained', checkpoint=path, prefix='backbone.')
    with pytest.raises(KeyError, match='norm.weight'):  # no silent dropping
        _tiny(arch=arch, out_keys=SEG_KEYS, init_cfg=init).init_weights()
    dst = _tiny(arch=arch, out_keys=SEG_KEYS, init_cfg=dict(init, drop_keys=('norm', 'proj')))
    dst.init_weights()
    own = dst.state_dict()
    assert set(own) == {k for k in src.state_dict() if not k.startswith(('norm.', 'proj.'))}
    for k, v in own.items():
        assert torch.equal(v, src.state_dict()[k]), k
    # dropping only part of the head leaves the rest unexpected
    with pytest.raises(KeyError, match='proj.weight'):
        _tiny(arch=arch, out_keys=SEG_KEYS,
              init_cfg=dict(init, drop_keys=('norm', ))).init_weights()
    # only parts of the embedding head the model does not build can be named
    with pytest.raises(ValueError, match='built'):
        _tiny(arch=arch, init_cfg=dict(init, drop_keys=('norm', 'proj'))).init_weights()
    with pytest.raises(ValueError, match='unknown'):
        _tiny(arch=arch, out_keys=SEG_KEYS,
              init_cfg=dict(init, drop_keys=('norm', 'proj', 'blocks'))).init_weights()
    # other missing keys still fail
    sd = {f'backbone.{k}': v for k, v in src.state_dict().items() if k != 'stem.conv.bias'}
    torch.save(sd, path)
    with pytest.raises(KeyError, match='stem.conv.bias'):
        _tiny(arch=arch, out_keys=SEG_KEYS,
              init_cfg=dict(init, drop_keys=('norm', 'proj'))).init_weights()


@pytest.mark.parametrize('out_keys,cls_only', [(('embed', ), True), (('embed', ), False),
                                               (SEG_KEYS, False)])
def test_forward_cortex_tokens_runs_every_row_of_every_block(out_keys, cls_only):
    model = _tiny(arch=dict(TINY, num_layers=3), out_keys=out_keys,
                  cls_only_last_block=cls_only).eval()
    _perturb(model)
    x = torch.randn(2, 3, 48, 64)
    outs = model.forward_cortex_tokens(x)
    assert len(outs) == 3 and all(o.shape == (2, 6, 64) for o in outs)
    tokens = model._encode(x)[-1]
    for block, out in zip(model.blocks, outs):
        tokens = block(tokens)
        torch.testing.assert_close(out, tokens)
    # the last one is what forward reads out
    if 'tokens' in out_keys:
        torch.testing.assert_close(model(x)[out_keys.index('tokens')], outs[-1])
    else:
        torch.testing.assert_close(model(x)[0], model.norm(outs[-1][:, 0]))
    assert [o.shape for o in model.forward_cortex_tokens(x, depth=1)] == [(2, 6, 64)]
    assert model.out_keys == out_keys
    with pytest.raises(ValueError, match='depth'):
        model.forward_cortex_tokens(x, depth=4)
