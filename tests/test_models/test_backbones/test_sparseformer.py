"""Tests of the SparseFormer backbone: shapes, gradients, init, loading, released equivalence."""
import importlib.util
import math
import os.path as osp

import pytest
import torch

from sfmm.models.backbones import SparseFormer
from sfmm.models.backbones.sparseformer import OUT_KEYS, initial_roi_grid
from sfmm.models.utils import convert_sparseformer_official

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
    # the [CLS]-only fast path of the last block gives the same embedding
    model.out_keys = ('embed', )
    torch.testing.assert_close(model(torch.randn(2, 3, 64, 64) * 0 + 1)[0],
                               _tiny_embed_full(model, torch.ones(2, 3, 64, 64)))


def _tiny_embed_full(model, x):
    model.out_keys = ('tokens', )
    toks, = model(x)
    model.out_keys = ('embed', )
    return model.proj(model.norm(toks[:, 0]))


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
    # early conv: Kaiming normal fan_out
    std = model.stem.conv.weight.std().item()
    assert abs(std - math.sqrt(2 / (8 * 49))) < 0.25 * math.sqrt(2 / (8 * 49))


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


def _released_pair(proj_bias: bool, tokens: int = 5):
    ref = _reference()
    sd = ref.random_released_state_dict(focus_dims=64, embed_dims=128, num_cortex=2,
                                        num_tokens=tokens, num_points=4, conv_channels=8,
                                        repeats=2, proj_dims=10, proj_bias=proj_bias)
    arch = dict(focus_dims=64, embed_dims=128, num_layers=2, num_heads=2,
                act='gelu' if proj_bias else 'quick_gelu',
                proj_dims=None if proj_bias else 10)
    model = SparseFormer(arch, num_latent_tokens=tokens, num_points=4, conv_channels=8,
                         focus_repeats=2, out_keys=OUT_KEYS).eval()
    converted = convert_sparseformer_official({'model': sd})
    backbone = {k[len('backbone.'):]: v for k, v in converted.items()
                if k.startswith('backbone.')}
    model.load_state_dict(backbone, strict=True)
    return ref, sd, model, converted


def _rel_err(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


@pytest.mark.parametrize('proj_bias', [True, False])
@pytest.mark.parametrize('hw', [(64, 64), (56, 72)])
def test_matches_released_implementation(proj_bias, hw):
    ref, sd, model, converted = _released_pair(proj_bias)
    torch.manual_seed(1)
    x = torch.randn(2, 3, *hw)
    expected = ref.released_forward(sd, x, num_points=4, quick_gelu=not proj_bias)
    with torch.no_grad():
        feat, rois, points, toks, embed = model(x)
    assert _rel_err(feat, expected['feat_map']) <= 1e-4
    assert _rel_err(rois, expected['rois']) <= 1e-4
    assert _rel_err(points, expected['points']) <= 1e-4
    assert _rel_err(toks, expected['tokens']) <= 1e-4
    # the RoIs really moved, so the adjustment path is exercised
    assert (expected['rois'][:, -1] - expected['rois'][:, 0]).abs().max() > 1e-3
    if proj_bias:  # AugReg: embed is the normed [CLS]; logits from the converted head
        assert _rel_err(embed, expected['cls_norm']) <= 1e-4
        logits = embed @ converted['head.fc.weight'].t() + converted['head.fc.bias']
        assert _rel_err(logits, expected['proj']) <= 1e-4
    else:  # CLIP: embed is the projected [CLS]
        assert _rel_err(embed, expected['proj']) <= 1e-4


def test_matches_released_in_image_classifier(tmp_path):
    pytest.importorskip('mmpretrain')
    from mmpretrain.models import ImageClassifier  # noqa: F401
    from mmpretrain.registry import MODELS as MMPRE_MODELS

    import sfmm.models  # noqa: F401
    ref, sd, _, converted = _released_pair(True)
    clf = MMPRE_MODELS.build(dict(
        type='ImageClassifier',
        backbone=dict(type='sfmm.SparseFormer', arch=dict(focus_dims=64, embed_dims=128,
                                                          num_layers=2, num_heads=2),
                      num_latent_tokens=5, num_points=4, conv_channels=8, focus_repeats=2),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=128))).eval()
    clf.load_state_dict(converted, strict=True)
    x = torch.randn(2, 3, 64, 64)
    expected = ref.released_forward(sd, x, num_points=4)
    with torch.no_grad():
        logits = clf(x, mode='tensor')
    assert _rel_err(logits, expected['proj']) <= 1e-4


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
