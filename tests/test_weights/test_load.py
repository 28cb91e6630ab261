"""sfmm.weights: strict loads name the file and the keys, steps, sfmm.Pretrained on any module."""
import pytest
import torch
from torch import nn

from sfmm.weights import (LoadRecord, load_model_state, load_pretrained, load_strict,
                          record_loads, steps)


class _Net(nn.Module):
    """A tiny module with two top-level parts."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Linear(2, 3)
        self.head = nn.Linear(3, 1)


def _state(module, offset=1.):
    return {k: v + offset for k, v in module.state_dict().items()}


def test_load_strict_names_the_source_and_every_key():
    net = _Net()
    state = _state(net)
    with record_loads() as loads:
        record = load_strict(net, state, 'a.pth')
    assert loads == [record] and isinstance(record, LoadRecord)
    assert record.strict and record.loaded == 4 and record.kept == [] and record.source == 'a.pth'
    assert torch.equal(net.head.bias, state['head.bias'])

    missing = {k: v for k, v in state.items() if k != 'stem.bias'}
    with pytest.raises(KeyError, match=r"'a\.pth' does not match _Net: missing keys "
                                       r"\['stem\.bias'\], unexpected keys \[\]"):
        load_strict(net, missing, 'a.pth')
    with pytest.raises(KeyError, match=r"unexpected keys \['extra'\]"):
        load_strict(net, dict(state, extra=torch.zeros(1)), 'a.pth')
    with pytest.raises(RuntimeError, match=r"(?s)'a\.pth' does not fit _Net.*head\.weight"):
        load_strict(net, dict(state, **{'head.weight': torch.zeros(2, 3)}), 'a.pth')
    # allowed keys (by name or top-level part) keep their values
    before = net.stem.weight.clone()
    record = load_strict(net, {k: v for k, v in state.items() if k.startswith('head.')},
                         'b.pth', allow_missing=('stem', ))
    assert record.kept == ['stem.weight', 'stem.bias']
    assert torch.equal(net.stem.weight, before)
    assert loads == [loads[0]]  # recorded only inside the with block


def test_load_pretrained_steps_and_missing_file_hint(tmp_path):
    net = _Net()
    net.how_to_obtain = 'Ask the authors.'
    with pytest.raises(FileNotFoundError, match=r"_Net: weights not found at '.*absent\.pth'"
                                                r".*never downloads.*Ask the authors\."):
        load_pretrained(net, str(tmp_path / 'absent.pth'))
    src = _Net()
    path = str(tmp_path / 'clf.pth')
    torch.save({'state_dict': {'model.' + k: v for k, v in _state(src).items()}}, path)
    with pytest.raises(KeyError, match="no checkpoint key starts with prefix 'backbone.'"):
        load_pretrained(net, path, prefix='backbone.')
    record = load_pretrained(net, path, prefix='model.')
    assert record.loaded == 4 and torch.equal(net.stem.weight, src.stem.weight + 1)
    # a module's own checkpoint_filter_fn maps its file's layout
    net.checkpoint_filter_fn = lambda state: {k.replace('fc.', 'stem.'): v for k, v in
                                              state.items()}
    torch.save({'fc.weight': torch.ones(3, 2), 'fc.bias': torch.ones(3),
                'head.weight': torch.ones(1, 3), 'head.bias': torch.ones(1)}, path)
    load_pretrained(net, path)
    assert torch.equal(net.stem.weight, torch.ones(3, 2))
    # parts the module does not build are dropped only by name
    torch.save({'stem.weight': torch.ones(3, 2), 'stem.bias': torch.ones(3),
                'head.weight': torch.ones(1, 3), 'head.bias': torch.ones(1),
                'norm.weight': torch.ones(3)}, path)
    del net.checkpoint_filter_fn
    with pytest.raises(KeyError, match=r"unexpected keys \['norm\.weight'\]"):
        load_pretrained(net, path)
    load_pretrained(net, path, drop_keys=('norm', ))
    with pytest.raises(ValueError, match='built'):
        load_pretrained(net, path, drop_keys=('head', ))
    with pytest.raises(ValueError, match="unknown allow_missing groups \\['focusing'\\]"):
        load_pretrained(net, path, drop_keys=('norm', ), allow_missing=('focusing', ))


def test_a_filter_failure_names_the_file(tmp_path):
    net = _Net()

    def broken(state):
        raise KeyError('no such layout')

    net.checkpoint_filter_fn = broken
    torch.save(_state(net), tmp_path / 'x.pth')
    with pytest.raises(RuntimeError, match=r"x\.pth.*_Net\.checkpoint_filter_fn.*no such"):
        load_pretrained(net, str(tmp_path / 'x.pth'))


def test_pos_embed_resize_matches_mmseg():
    from mmseg.models.backbones import VisionTransformer
    src = torch.randn(1, 1 + 14 * 14, 8)
    own = {'pos_embed': torch.zeros(1, 1 + 32 * 32, 8)}
    out, notes = steps.resize_pos_embed({'pos_embed': src}, own)
    ref = VisionTransformer.resize_pos_embed(src, (32, 32), (14, 14), 'bicubic')
    torch.testing.assert_close(out['pos_embed'], ref)
    assert notes == ['pos_embed: resized 14x14 -> 32x32 (bicubic)']
    same, notes = steps.resize_pos_embed({'pos_embed': ref}, own)
    assert same['pos_embed'] is ref and notes == []


def test_sfmm_pretrained_on_a_host_library_module(tmp_path):
    """mmseg's ViT through init_cfg=sfmm.Pretrained: the mmseg-converted 224px file (with the
    final norm ln1 that final_norm=False does not build) loads strictly at 64px."""
    from mmengine.registry import DefaultScope
    from mmseg.registry import MODELS
    kw = dict(type='VisionTransformer', patch_size=16, embed_dims=32, num_layers=2, num_heads=2,
              mlp_ratio=2, with_cls_token=True, interpolate_mode='bicubic')
    with DefaultScope.overwrite_default_scope('mmseg'):
        _check_mmseg_vit(MODELS, kw, tmp_path)


def _check_mmseg_vit(MODELS, kw, tmp_path):
    torch.manual_seed(0)
    src = MODELS.build(dict(kw, img_size=(32, 32), final_norm=True))
    path = str(tmp_path / 'vit_mmseg.pth')
    torch.save(src.state_dict(), path)
    cfg = dict(kw, img_size=(64, 64), init_cfg=dict(type='sfmm.Pretrained', checkpoint=path,
                                                    drop_keys=('ln1', ), resize_pos_embed=True))
    with pytest.raises(KeyError, match=r"unexpected keys \['ln1\.bias', 'ln1\.weight'\]"):
        MODELS.build(dict(cfg, init_cfg=dict(type='sfmm.Pretrained',
                                             checkpoint=path))).init_weights()
    dst = MODELS.build(cfg)
    with record_loads() as loads:
        dst.init_weights()
    assert [(r.module, r.source) for r in loads] == [('VisionTransformer', path)]
    assert loads[0].notes == ['pos_embed: resized 2x2 -> 4x4 (bicubic)']
    torch.testing.assert_close(dst.layers[1].ffn.layers[1].weight,
                               src.layers[1].ffn.layers[1].weight)
    ref = src.resize_pos_embed(src.pos_embed, (4, 4), (2, 2), 'bicubic')
    torch.testing.assert_close(dst.pos_embed, ref)


def test_loaded_weights_are_not_reinitialised_by_children(tmp_path):
    """mmengine applies every init type but 'Pretrained' before the children's init_weights;
    sfmm.Pretrained marks them initialised, so an mmpretrain ViT inside a teacher (whose own
    init_weights re-draws pos_embed) keeps the loaded values."""
    pytest.importorskip('mmpretrain')
    from sfmm.models.teachers import MMPretrainViTTeacher
    kw = dict(arch=dict(embed_dims=32, num_layers=1, num_heads=2, feedforward_channels=64),
              img_size=32, patch_size=16, num_classes=3)
    torch.manual_seed(0)
    src = MMPretrainViTTeacher(**kw)
    torch.save({'state_dict': _state(src)}, tmp_path / 't.pth')
    teacher = MMPretrainViTTeacher(init_cfg=dict(type='sfmm.Pretrained',
                                                 checkpoint=str(tmp_path / 't.pth')), **kw)
    teacher.init_weights()
    for k, v in _state(src).items():
        assert torch.equal(teacher.state_dict()[k], v), k


def test_legacy_pretrained_is_strict_on_sfmm_modules(tmp_path):
    from sfmm.models.backbones import SparseFormer
    arch = dict(focus_dims=64, embed_dims=64, num_layers=1, num_heads=2)
    src = SparseFormer(arch, num_latent_tokens=4, num_points=4, conv_channels=8,
                       focus_repeats=1)
    torch.save(src.state_dict(), tmp_path / 'sf.pth')
    model = SparseFormer(arch, num_latent_tokens=4, num_points=4, conv_channels=8,
                         focus_repeats=1,
                         init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'sf.pth')))
    assert model.init_cfg['type'] == 'sfmm.Pretrained'  # never mmengine's non-strict loader
    with record_loads() as loads:
        model.init_weights()
    assert [r.module for r in loads] == ['SparseFormer']
    with pytest.raises(ValueError, match='cannot be combined'):
        SparseFormer(arch, init_cfg=[dict(type='Pretrained', checkpoint='x.pth'),
                                     dict(type='Kaiming', layer='Linear')])


def test_whole_model_checkpoints_strip_ddp_and_convert_released():
    net = _Net()
    record = load_model_state(net, {'state_dict': {'module.' + k: v for k, v in
                                                   _state(net).items()}}, 'ddp.pth')
    assert record.loaded == 4
    with pytest.raises(KeyError, match=r"'c\.pth'.*missing keys \['head\.bias'\]"):
        load_model_state(net, {k: v for k, v in net.state_dict().items() if k != 'head.bias'},
                         'c.pth')
