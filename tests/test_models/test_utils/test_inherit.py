"""Weight inheritance key maps: timm, mmpretrain and open_clip teachers -> SparseFormer keys."""
import pytest
import timm
import torch
from sfmm.models.utils.open_clip_towers import build_vision_tower
from timm.layers import QuickGELU
from timm.models.vision_transformer import Block

from sfmm.models.utils.inherit import BLOCK_PARAMS, inherit_from_teacher, to_canonical

DIM, HEADS, DEPTH = 32, 2, 3


def _student_state(depth, dim=DIM, proj=None, num_classes=None, proj_bias=False):
    """A state dict with the agreed SparseFormer key names (focusing part abbreviated)."""
    sd = {'backbone.stem.conv.weight': torch.zeros(8, 3, 7, 7),
          'backbone.cls_token.weight': torch.zeros(1, dim)}
    block = Block(dim, HEADS, qkv_bias=True).state_dict()
    assert set(block) == set(BLOCK_PARAMS)
    for k in range(depth):
        sd.update({f'backbone.blocks.{k}.{n}': torch.zeros_like(v) for n, v in block.items()})
    sd['backbone.norm.weight'] = torch.zeros(dim)
    sd['backbone.norm.bias'] = torch.zeros(dim)
    if proj:
        sd['backbone.proj.weight'] = torch.zeros(proj, dim)
        if proj_bias:
            sd['backbone.proj.bias'] = torch.zeros(proj)
    if num_classes:
        sd['head.fc.weight'] = torch.zeros(num_classes, dim)
        sd['head.fc.bias'] = torch.zeros(num_classes)
    return sd


def _timm_teacher():
    return timm.create_model('vit_base_patch16_224', pretrained=False, img_size=32,
                             embed_dim=DIM, depth=DEPTH, num_heads=HEADS, num_classes=10)


def _clip_visual(dim=DIM, depth=DEPTH, embed=16):
    cfg = dict(image_size=32, patch_size=16, width=dim, layers=depth, head_width=16)
    return build_vision_tower(embed, cfg, True)


def _mmpretrain_state(dim=DIM, depth=DEPTH, num_classes=10, head='layers.head'):
    """Key names of an mmpretrain ImageClassifier (ViT + VisionTransformerClsHead)."""
    g = torch.Generator().manual_seed(0)
    r = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    sd = {'backbone.cls_token': r(1, 1, dim), 'backbone.pos_embed': r(1, 5, dim),
          'backbone.patch_embed.projection.weight': r(dim, 3, 16, 16),
          'backbone.patch_embed.projection.bias': r(dim)}
    for i in range(depth):
        p = f'backbone.layers.{i}.'
        for n, shape in [('ln1', (dim,)), ('ln2', (dim,))]:
            sd[p + n + '.weight'], sd[p + n + '.bias'] = r(*shape), r(*shape)
        sd[p + 'attn.qkv.weight'], sd[p + 'attn.qkv.bias'] = r(3 * dim, dim), r(3 * dim)
        sd[p + 'attn.proj.weight'], sd[p + 'attn.proj.bias'] = r(dim, dim), r(dim)
        sd[p + 'ffn.layers.0.0.weight'] = r(4 * dim, dim)
        sd[p + 'ffn.layers.0.0.bias'] = r(4 * dim)
        sd[p + 'ffn.layers.1.weight'], sd[p + 'ffn.layers.1.bias'] = r(dim, 4 * dim), r(dim)
    sd['backbone.ln1.weight'], sd['backbone.ln1.bias'] = r(dim), r(dim)
    sd[f'head.{head}.weight'], sd[f'head.{head}.bias'] = r(num_classes, dim), r(num_classes)
    return sd


@pytest.mark.parametrize('truncate', [0, 1, 2])
def test_timm_blocks_norm_head(truncate):
    teacher = _timm_teacher()
    t_sd = teacher.state_dict()
    student = _student_state(DEPTH - truncate, num_classes=10)
    out, report = inherit_from_teacher(t_sd, 'timm', student, truncate=truncate)
    # every cortex / norm / head key filled, from the right block
    expected = {k for k in student
                if k.startswith(('backbone.blocks.', 'backbone.norm.', 'head.'))}
    assert set(out) == expected
    for k in range(DEPTH - truncate):
        for n in BLOCK_PARAMS:
            assert torch.equal(out[f'backbone.blocks.{k}.{n}'], t_sd[f'blocks.{truncate + k}.{n}'])
            assert report.inherited[f'backbone.blocks.{k}.{n}'] == f'blocks.{truncate + k}.{n}'
    assert torch.equal(out['backbone.norm.weight'], t_sd['norm.weight'])
    assert torch.equal(out['head.fc.weight'], t_sd['head.weight'])
    # nothing left over: every teacher key is inherited or dropped with a reason
    assert set(report.inherited.values()) | set(report.dropped) == set(t_sd)
    assert report.dropped['pos_embed'].startswith('positional')
    assert report.dropped['patch_embed.proj.weight'].startswith('patch')
    for i in range(truncate):
        assert report.dropped[f'blocks.{i}.attn.qkv.weight'] == f'truncated leading block {i}'
    assert sorted(report.not_inherited) == ['backbone.cls_token.weight',
                                            'backbone.stem.conv.weight']
    assert 'inherited' in report.summary()


def test_inherited_block_computes_like_teacher_block():
    teacher = _timm_teacher().eval()
    student = _student_state(DEPTH - 1)
    out, _ = inherit_from_teacher(teacher.state_dict(), 'timm', student, truncate=1)
    block = Block(DIM, HEADS, qkv_bias=True).eval()
    block.load_state_dict({k[len('backbone.blocks.1.'):]: v for k, v in out.items()
                           if k.startswith('backbone.blocks.1.')}, strict=True)
    x = torch.randn(2, 5, DIM)
    torch.testing.assert_close(block(x), teacher.blocks[2](x))


def test_open_clip_visual_map_and_projection_transpose():
    visual = _clip_visual()
    sd = visual.state_dict()
    student = _student_state(DEPTH - 1, proj=16)
    out, report = inherit_from_teacher(sd, 'open_clip', student, truncate=1)
    assert torch.equal(out['backbone.proj.weight'], sd['proj'].t())
    assert torch.equal(out['backbone.blocks.0.attn.qkv.weight'],
                       sd['transformer.resblocks.1.attn.in_proj_weight'])
    assert torch.equal(out['backbone.norm.bias'], sd['ln_post.bias'])
    assert set(report.inherited.values()) | set(report.dropped) == set(sd)
    assert 'ln_pre.weight' in report.dropped and 'conv1.weight' in report.dropped
    # a block mapped from open_clip computes what the CLIP residual block computes
    block = Block(DIM, HEADS, qkv_bias=True, act_layer=QuickGELU).eval()
    block.load_state_dict({k[len('backbone.blocks.0.'):]: v for k, v in out.items()
                           if k.startswith('backbone.blocks.0.')}, strict=True)
    x = torch.randn(2, 5, DIM)
    torch.testing.assert_close(block(x), visual.transformer.resblocks[1](x))


def test_open_clip_full_model_keys_keep_visual_only():
    sd = {f'visual.{k}': v for k, v in _clip_visual().state_dict().items()}
    sd['transformer.resblocks.0.ln_1.weight'] = torch.zeros(DIM)  # text tower, same names
    sd['logit_scale'] = torch.zeros(())
    out, report = inherit_from_teacher(sd, 'open_clip', _student_state(DEPTH - 1, proj=16), 1)
    assert report.inherited['backbone.blocks.0.norm1.weight'] == \
        'visual.transformer.resblocks.1.ln_1.weight'
    assert report.dropped['transformer.resblocks.0.ln_1.weight'].startswith('text tower')


@pytest.mark.parametrize('head', ['layers.head', 'fc'])
def test_mmpretrain_map(head):
    sd = _mmpretrain_state(head=head)
    student = _student_state(DEPTH - 1, num_classes=10)
    out, report = inherit_from_teacher(sd, 'mmpretrain', student, truncate=1)
    assert torch.equal(out['backbone.blocks.0.mlp.fc1.weight'],
                       sd['backbone.layers.1.ffn.layers.0.0.weight'])
    assert torch.equal(out['backbone.blocks.1.mlp.fc2.bias'],
                       sd['backbone.layers.2.ffn.layers.1.bias'])
    assert torch.equal(out['backbone.blocks.1.norm2.weight'], sd['backbone.layers.2.ln2.weight'])
    assert torch.equal(out['backbone.norm.weight'], sd['backbone.ln1.weight'])
    assert torch.equal(out['head.fc.bias'], sd[f'head.{head}.bias'])
    assert set(report.inherited.values()) | set(report.dropped) == set(sd)


def test_mmpretrain_pre_logits_is_refused():
    sd = _mmpretrain_state()
    sd['head.layers.pre_logits.weight'] = torch.zeros(DIM, DIM)
    with pytest.raises(ValueError, match='pre_logits'):
        to_canonical(sd, 'mmpretrain')


def test_shape_mismatch_names_key_and_shapes():
    student = _student_state(DEPTH - 1, dim=48, num_classes=10)
    with pytest.raises(ValueError, match=r"backbone\.blocks\.0\.norm1\.weight.*\(48,\).*\(32,\)"):
        inherit_from_teacher(_timm_teacher().state_dict(), 'timm', student, truncate=1)


def test_projection_size_mismatch():
    with pytest.raises(ValueError, match=r'backbone\.proj\.weight.*\(8, 32\).*\(16, 32\)'):
        inherit_from_teacher(_clip_visual().state_dict(), 'open_clip',
                             _student_state(DEPTH - 1, proj=8), truncate=1)


def test_depth_mismatch():
    with pytest.raises(ValueError, match='depth mismatch'):
        inherit_from_teacher(_timm_teacher().state_dict(), 'timm', _student_state(2), truncate=0)


def test_unknown_teacher_key_is_an_error():
    sd = _timm_teacher().state_dict()
    sd['blocks.0.ls1.gamma'] = torch.ones(DIM)
    with pytest.raises(ValueError, match='ls1.gamma'):
        inherit_from_teacher(sd, 'timm', _student_state(DEPTH - 1), truncate=1)


def test_no_reuse_inherits_only_classifier():
    t_sd = _timm_teacher().state_dict()
    student = _student_state(DEPTH - 1, num_classes=10)
    out, report = inherit_from_teacher(t_sd, 'timm', student, truncate=1, reuse_blocks=False)
    assert set(out) == {'head.fc.weight', 'head.fc.bias'}
    assert 'backbone.blocks.0.attn.qkv.weight' in report.not_inherited
    assert 'backbone.norm.weight' in report.not_inherited
    assert report.dropped['blocks.2.attn.qkv.weight'].startswith('not reused')
    assert set(report.inherited.values()) | set(report.dropped) == set(t_sd)


def test_classifier_into_projection_with_bias():
    """The released AugReg layout keeps the classifier as ``proj`` (with bias)."""
    t_sd = _timm_teacher().state_dict()
    out, _ = inherit_from_teacher(t_sd, 'timm', _student_state(2, proj=10, proj_bias=True), 1)
    assert torch.equal(out['backbone.proj.weight'], t_sd['head.weight'])
    assert torch.equal(out['backbone.proj.bias'], t_sd['head.bias'])


def test_real_mmpretrain_classifier_keys():
    """The map matches the names mmpretrain itself produces (and its blocks compute the same)."""
    pytest.importorskip('mmpretrain')
    from mmpretrain.registry import MODELS
    model = MODELS.build(dict(
        type='ImageClassifier',
        backbone=dict(type='VisionTransformer', img_size=32, patch_size=16, out_type='cls_token',
                      arch=dict(embed_dims=DIM, num_layers=DEPTH, num_heads=HEADS,
                                feedforward_channels=4 * DIM)),
        head=dict(type='VisionTransformerClsHead', num_classes=10, in_channels=DIM))).eval()
    sd = model.state_dict()
    out, report = inherit_from_teacher(sd, 'mmpretrain', _student_state(DEPTH - 1, num_classes=10),
                                       truncate=1)
    assert set(report.inherited.values()) | set(report.dropped) == set(sd)
    block = Block(DIM, HEADS, qkv_bias=True).eval()
    block.load_state_dict({k[len('backbone.blocks.0.'):]: v for k, v in out.items()
                           if k.startswith('backbone.blocks.0.')}, strict=True)
    x = torch.randn(2, 5, DIM)
    torch.testing.assert_close(block(x), model.backbone.layers[1](x))


@pytest.mark.parametrize('teacher, layout, arch, truncate', [
    ('vit_base_patch16_224.augreg2_in21k_ft_in1k', 'timm', 'b-augreg', 4),
    ('vit_large_patch16_224.augreg_in21k_ft_in1k', 'timm', 'l-augreg', 8),
    ('vit_large_patch16_384.augreg_in21k_ft_in1k', 'timm', 'l-augreg', 8),
    ('ViT-B-16', 'open_clip', 'b-clip', 4),
    ('ViT-L-14', 'open_clip', 'l-clip', 8),
    ('ViT-L-14-336', 'open_clip', 'l-clip', 8),
])
def test_full_size_teachers_fit_their_students(teacher, layout, arch, truncate):
    """The real teacher architectures map onto the SparseFormer presets (shapes only, on meta)."""
    import open_clip

    from sfmm.models.backbones import SparseFormer
    with torch.device('meta'):
        if layout == 'timm':
            t_sd = timm.create_model(teacher, pretrained=False).state_dict()
        else:
            cfg = open_clip.get_model_config(teacher)
            t_sd = build_vision_tower(cfg['embed_dim'], cfg['vision_cfg'], True).state_dict()
        student = SparseFormer(arch=arch)
    s_sd = {f'backbone.{k}': v for k, v in student.state_dict().items()}
    head = layout == 'timm'
    if head:
        s_sd.update({'head.fc.weight': torch.empty(1000, student.embed_dims, device='meta'),
                     'head.fc.bias': torch.empty(1000, device='meta')})
    out, report = inherit_from_teacher(t_sd, layout, s_sd, truncate=truncate)
    cortex = [k for k in s_sd if k.startswith(('backbone.blocks.', 'backbone.norm.',
                                               'backbone.proj.', 'head.'))]
    assert sorted(out) == sorted(cortex)
    assert set(report.inherited.values()) | set(report.dropped) == set(t_sd)
