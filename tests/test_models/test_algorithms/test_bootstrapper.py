"""sfmm.Bootstrapper: inheritance at init, trainable set, losses, modes and checkpoints."""
import pytest
import timm
import torch
from mmengine.optim import build_optim_wrapper
from sfmm.models.utils.open_clip_towers import build_vision_tower

from sfmm.models.algorithms import Bootstrapper
from sfmm.weights import record_loads

TIMM_KW = dict(img_size=32, embed_dim=32, depth=3, num_heads=2, num_classes=10)
CLIP_CFG = dict(embed_dim=16, vision_cfg=dict(image_size=32, patch_size=16, width=32, layers=3,
                                              head_width=16))


@pytest.fixture
def timm_teacher_cfg(tmp_path):
    torch.manual_seed(1)
    model = timm.create_model('vit_base_patch16_224', pretrained=False, **TIMM_KW)
    with torch.no_grad():  # non-trivial norms / biases, so a skipped copy would show
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    path = tmp_path / 'teacher_vit.pth'
    torch.save(model.state_dict(), path)
    return dict(type='sfmm.TimmViTTeacher', model_name='vit_base_patch16_224',
                init_cfg=dict(type='sfmm.Pretrained', checkpoint=str(path)),
                model_kwargs=TIMM_KW)


@pytest.fixture
def clip_teacher_cfg(tmp_path):
    torch.manual_seed(1)
    visual = build_vision_tower(CLIP_CFG['embed_dim'], CLIP_CFG['vision_cfg'], True)
    path = tmp_path / 'teacher_clip.bin'
    torch.save({f'visual.{k}': v for k, v in visual.state_dict().items()}, path)
    return dict(type='sfmm.OpenCLIPTeacher', model_name='tiny',
                init_cfg=dict(type='sfmm.Pretrained', checkpoint=str(path)), model_cfg=CLIP_CFG)


def tiny_student(proj_dims=None, num_layers=2, tokens=8, act='gelu', init_cfg=None):
    """A tiny SparseFormer config: cortex width 32, 2 blocks, 8 latent tokens, 4 points."""
    return dict(type='sfmm.SparseFormer',
                arch=dict(focus_dims=64, embed_dims=32, num_layers=num_layers, num_heads=2,
                          act=act, proj_dims=proj_dims),
                num_latent_tokens=tokens, num_points=4, conv_channels=16, init_cfg=init_cfg)


def continued(path):
    """The student's init_cfg of continued bootstrapping from a shorter-token checkpoint."""
    return dict(type='sfmm.Pretrained', checkpoint=str(path), prefix='backbone.',
                extend_tokens=True)


def _build(teacher_cfg, **kw):
    cfg = dict(backbone=tiny_student(), teacher=teacher_cfg, inherit=dict(truncate=1),
               num_tunable=1)
    cfg.update(kw)
    model = Bootstrapper(**cfg)
    model.init_weights()
    return model


def test_inherits_and_freezes(timm_teacher_cfg):
    model = _build(timm_teacher_cfg)
    teacher = model.teacher.model
    for k in range(2):  # cortex block k <- teacher block 1 + k
        for name, value in model.backbone.blocks[k].state_dict().items():
            assert torch.equal(value, teacher.blocks[1 + k].state_dict()[name]), name
    assert torch.equal(model.backbone.norm.weight, teacher.norm.weight)
    report = model.inherit_report
    assert report.dropped['blocks.0.attn.qkv.weight'] == 'truncated leading block 0'
    assert report.dropped['head.weight'].startswith('the student has no classifier')

    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    focusing = {n for n, _ in model.backbone.named_parameters()
                if n.split('.')[0] not in ('blocks', 'norm', 'proj')}
    block0 = {f'backbone.{n}' for n, _ in model.backbone.named_parameters()
              if n.startswith('blocks.0.')}
    assert trainable == {f'backbone.{n}' for n in focusing} | block0
    assert 'backbone.cls_token.weight' in trainable
    assert set(model.inherited_tunable_names()) == block0
    model.train()
    assert model.training and not model.teacher.training


def test_state_dict_excludes_teacher_and_loads_strictly(timm_teacher_cfg, tmp_path):
    model = _build(timm_teacher_cfg)
    sd = model.state_dict()
    assert sd and not any(k.startswith('teacher.') for k in sd)
    assert all(k.startswith('backbone.') for k in sd)
    fresh = Bootstrapper(backbone=tiny_student(), teacher=timm_teacher_cfg,
                         inherit=dict(truncate=1), num_tunable=1)
    fresh.init_weights()
    teacher_before = {k: v.clone() for k, v in fresh.teacher.state_dict().items()}
    result = fresh.load_state_dict(sd, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    for k, v in fresh.teacher.state_dict().items():
        assert torch.equal(v, teacher_before[k])  # the teacher keeps its file weights
    torch.testing.assert_close(fresh.backbone.init_rois.weight, model.backbone.init_rois.weight)


def test_modes_and_loss_without_labels(clip_teacher_cfg):
    model = _build(clip_teacher_cfg, backbone=tiny_student(proj_dims=16, act='quick_gelu'))
    assert torch.equal(model.backbone.proj.weight, model.teacher.visual.proj.t())
    x = torch.randn(2, 3, 32, 32)
    losses = model(x, None, mode='loss')
    assert set(losses) == {'loss_align', 'cos_sim'}
    assert 0 <= losses['loss_align'].item() <= 2
    torch.testing.assert_close(losses['loss_align'], 1 - losses['cos_sim'])
    assert model(x, mode='tensor').shape == (2, 16)
    with pytest.raises(RuntimeError, match='no classifier head'):
        model(x, mode='predict')
    with pytest.raises(RuntimeError, match='Invalid mode'):
        model(x, mode='bogus')
    losses['loss_align'].backward()
    for name, p in model.named_parameters():
        assert (p.grad is not None) == p.requires_grad, name


def test_loss_falls(clip_teacher_cfg):
    torch.manual_seed(0)
    model = _build(clip_teacher_cfg, backbone=tiny_student(proj_dims=16, act='quick_gelu'))
    wrapper = build_optim_wrapper(model, dict(
        constructor='sfmm.BootstrapOptimWrapperConstructor',
        optimizer=dict(type='AdamW', lr=5e-3, weight_decay=0.)))
    # procedural images: coloured squares at random places on noise
    g = torch.Generator().manual_seed(0)
    x = torch.rand(8, 3, 32, 32, generator=g) * 0.3
    for i in range(8):
        r, c = torch.randint(0, 20, (2, ), generator=g).tolist()
        x[i, i % 3, r:r + 12, c:c + 12] += 1.
    model.train()
    first = None
    for _ in range(8):
        loss = model(x, mode='loss')['loss_align']
        wrapper.update_params(loss)
        first = loss.item() if first is None else first
    assert loss.item() < 0.7 * first, (first, loss.item())


def test_no_reuse_and_all_tunable(timm_teacher_cfg):
    model = _build(timm_teacher_cfg, inherit=dict(truncate=1, reuse_blocks=False),
                   num_tunable=None)
    assert model.inherited_tunable_names() == []
    assert all(p.requires_grad for p in model.backbone.parameters())
    assert not torch.equal(model.backbone.norm.weight, model.teacher.model.norm.weight)
    frozen_all = _build(timm_teacher_cfg, num_tunable=0)
    assert not any(p.requires_grad for p in frozen_all.backbone.blocks.parameters())
    assert frozen_all.inherited_tunable_names() == []


def test_bad_configs(timm_teacher_cfg):
    with pytest.raises(ValueError, match='num_tunable'):
        Bootstrapper(backbone=tiny_student(), teacher=timm_teacher_cfg, num_tunable=3)
    with pytest.raises(ValueError, match='need a classifier head'):
        Bootstrapper(backbone=tiny_student(), teacher=timm_teacher_cfg, num_tunable=1,
                     distill_loss=dict(type='sfmm.KLDistillLoss', tau=3.))
    with pytest.raises(ValueError, match='depth mismatch'):
        _build(timm_teacher_cfg, inherit=dict(truncate=0))


def _head_cfg():
    return dict(type='mmpretrain.LinearClsHead', num_classes=10, in_channels=32,
                loss=dict(type='mmpretrain.CrossEntropyLoss'))


def test_head_predict_kl_and_cls(timm_teacher_cfg):
    pytest.importorskip('mmpretrain')
    import mmpretrain.models  # noqa: F401  (registers mmpretrain's modules)
    from mmpretrain.structures import DataSample
    model = _build(timm_teacher_cfg, head=_head_cfg(),
                   distill_loss=dict(type='sfmm.KLDistillLoss', tau=3.), cls_loss_weight=1.)
    teacher = model.teacher.model
    assert torch.equal(model.head.fc.weight, teacher.head.weight)
    assert not any(p.requires_grad for p in model.head.parameters())
    x = torch.randn(2, 3, 32, 32)
    samples = [DataSample().set_gt_label(i) for i in range(2)]
    losses = model(x, samples, mode='loss')
    assert {'loss_align', 'loss_kl', 'loss_cls'} <= set(losses)
    with pytest.raises(ValueError, match='gt_label'):
        model(x, [DataSample(), DataSample()], mode='loss')
    preds = model(x, samples, mode='predict')
    assert preds[0].pred_score.shape == (10, )
    # the classifier reads the student's embedding: the teacher's own [CLS] gives its logits
    with torch.no_grad():
        t_out = model.teacher(x, with_logits=True)
        torch.testing.assert_close(model.head((t_out['embed'], )), t_out['logits'])


def test_continue_with_more_tokens(timm_teacher_cfg, tmp_path):
    short = _build(timm_teacher_cfg)
    with torch.no_grad():
        short.backbone.init_rois.weight.uniform_(0.1, 0.2)  # "learned" RoIs
    path = tmp_path / 'short.pth'
    torch.save({'state_dict': short.state_dict(), 'meta': {}}, path)
    with record_loads() as loads:
        longer = _build(timm_teacher_cfg, inherit=None,
                        backbone=tiny_student(tokens=13, init_cfg=continued(path)))
    assert [(r.module, r.source) for r in loads] == [
        ('SparseFormer', str(path)),
        ('TimmViTTeacher', timm_teacher_cfg['init_cfg']['checkpoint'])]
    assert loads[0].notes[-1].endswith('-> 13 tokens')
    assert longer.inherit_report is None and longer.inherited_tunable_names()  # reused blocks
    with pytest.raises(ValueError, match='inherit=None'):
        Bootstrapper(backbone=tiny_student(init_cfg=continued(path)), teacher=timm_teacher_cfg,
                     inherit=dict(truncate=1), num_tunable=1)
    rois = longer.backbone.init_rois.weight
    assert rois.shape == (13, 4)
    assert torch.equal(rois[:8], short.backbone.init_rois.weight)
    assert torch.equal(longer.backbone.blocks[0].attn.qkv.weight,
                       short.backbone.blocks[0].attn.qkv.weight)
    assert ((rois[8:] >= 0) & (rois[8:] <= 1)).all()


def test_optimizer_groups_on_bootstrapper(timm_teacher_cfg):
    model = _build(timm_teacher_cfg)
    wrapper = build_optim_wrapper(model, dict(
        constructor='sfmm.BootstrapOptimWrapperConstructor',
        optimizer=dict(type='AdamW', lr=2e-4, weight_decay=0.05),
        paramwise_cfg=dict(inherited_lr_mult=0.1, norm_decay_mult=0.,
                           custom_keys={'.init_rois': dict(decay_mult=0.)})))
    names = {id(p): n for n, p in model.named_parameters()}
    lr_of = {names[id(p)]: g['lr'] for g in wrapper.optimizer.param_groups for p in g['params']}
    wd_of = {names[id(p)]: g['weight_decay'] for g in wrapper.optimizer.param_groups
             for p in g['params']}
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert set(lr_of) == trainable  # frozen blocks, norm and the teacher are not optimised
    assert not any(n.startswith('teacher.') for n in lr_of)
    for n, lr in lr_of.items():
        expected = 2e-5 if n.startswith('backbone.blocks.0.') else 2e-4
        assert lr == pytest.approx(expected), n
    assert wd_of['backbone.init_rois.weight'] == 0
    assert wd_of['backbone.blocks.0.norm1.weight'] == 0
    assert wd_of['backbone.blocks.0.attn.qkv.weight'] == pytest.approx(0.05)


def test_checkpoint_loads_into_image_classifier(timm_teacher_cfg):
    """A bootstrap state dict is an ImageClassifier(SparseFormer, LinearClsHead) state dict."""
    pytest.importorskip('mmpretrain')
    from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
    model = _build(timm_teacher_cfg, head=_head_cfg(),
                   data_preprocessor=dict(mean=[127.5] * 3, std=[127.5] * 3, to_rgb=True))
    classifier = MMPRETRAIN_MODELS.build(dict(
        type='ImageClassifier', backbone=tiny_student(), head=_head_cfg(),
        data_preprocessor=dict(mean=[127.5] * 3, std=[127.5] * 3, to_rgb=True)))
    result = classifier.load_state_dict(model.state_dict(), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    model.eval(), classifier.eval()
    x = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(classifier(x, mode='tensor'), model.head((model(x), )))


def test_mmpretrain_teacher_inherits(tmp_path):
    pytest.importorskip('mmpretrain')
    from sfmm.models.teachers import MMPretrainViTTeacher
    kw = dict(arch=dict(embed_dims=32, num_layers=3, num_heads=2, feedforward_channels=128),
              img_size=32, patch_size=16, num_classes=10)
    torch.manual_seed(0)
    src = MMPretrainViTTeacher(**kw)
    torch.save({'state_dict': src.state_dict()}, tmp_path / 'mmp.pth')
    model = _build(dict(type='sfmm.MMPretrainViTTeacher',
                        init_cfg=dict(type='sfmm.Pretrained',
                                      checkpoint=str(tmp_path / 'mmp.pth')),
                        **kw), head=_head_cfg())
    assert torch.equal(model.backbone.blocks[1].mlp.fc1.weight,
                       src.backbone.layers[2].ffn.layers[0][0].weight)
    assert torch.equal(model.head.fc.weight, src.head.layers.head.weight)
    with torch.autocast('cpu', dtype=torch.bfloat16):  # student and teacher share the autocast
        losses = model(torch.randn(2, 3, 32, 32), mode='loss')
    assert torch.isfinite(losses['loss_align'])


def test_continue_from_released_checkpoint(clip_teacher_cfg, tmp_path):
    """A released showlab/sparseformer state dict also starts continued bootstrapping."""
    from sfmm.models.utils import official_key_map
    clip_student = dict(proj_dims=16, act='quick_gelu')
    short = _build(clip_teacher_cfg, backbone=tiny_student(**clip_student))
    sd = short.state_dict()
    released = {rel: sd[ours] for rel, ours in official_key_map(2, 'backbone').items()}
    torch.save({'model': released}, tmp_path / 'released.pth')
    longer = _build(clip_teacher_cfg, inherit=None, backbone=tiny_student(
        tokens=10, init_cfg=continued(tmp_path / 'released.pth'), **clip_student))
    assert torch.equal(longer.backbone.init_rois.weight[:8], short.backbone.init_rois.weight)
    assert torch.equal(longer.backbone.proj.weight, short.backbone.proj.weight)
