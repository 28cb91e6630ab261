"""Teachers load every supported file format strictly, stay frozen and give the right outputs."""
import numpy as np
import pytest
import timm
import torch
from sfmm.models.utils.open_clip_towers import build_vision_tower
from safetensors.torch import save_file

from sfmm.models.teachers import MMPretrainViTTeacher, OpenCLIPTeacher, TimmViTTeacher

TIMM_KW = dict(img_size=32, embed_dim=32, depth=2, num_heads=2, num_classes=10)
CLIP_CFG = dict(embed_dim=16, vision_cfg=dict(image_size=32, patch_size=16, width=32, layers=2,
                                              head_width=16))


def _timm_ref():
    torch.manual_seed(0)
    model = timm.create_model('vit_base_patch16_224', pretrained=False, **TIMM_KW).eval()
    with torch.no_grad():  # make biases / norms non-trivial so a skipped key would show
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return model


def write_augreg_npz(model, path, with_head=True):
    """Write ``model`` in the original AugReg (google-research/vision_transformer) npz naming."""
    d = model.embed_dim
    h = model.blocks[0].attn.num_heads
    w = {'embedding/kernel': model.patch_embed.proj.weight.permute(2, 3, 1, 0),
         'embedding/bias': model.patch_embed.proj.bias,
         'cls': model.cls_token,
         'Transformer/posembed_input/pos_embedding': model.pos_embed,
         'Transformer/encoder_norm/scale': model.norm.weight,
         'Transformer/encoder_norm/bias': model.norm.bias}
    if with_head:
        w['head/kernel'] = model.head.weight.t()
        w['head/bias'] = model.head.bias
    for i, blk in enumerate(model.blocks):
        p = f'Transformer/encoderblock_{i}/'
        mha = p + 'MultiHeadDotProductAttention_1/'
        w[p + 'LayerNorm_0/scale'], w[p + 'LayerNorm_0/bias'] = blk.norm1.weight, blk.norm1.bias
        w[p + 'LayerNorm_2/scale'], w[p + 'LayerNorm_2/bias'] = blk.norm2.weight, blk.norm2.bias
        for j, n in enumerate(('query', 'key', 'value')):
            wt = blk.attn.qkv.weight[j * d:(j + 1) * d]
            w[mha + n + '/kernel'] = wt.t().reshape(d, h, d // h)
            w[mha + n + '/bias'] = blk.attn.qkv.bias[j * d:(j + 1) * d].reshape(h, d // h)
        w[mha + 'out/kernel'] = blk.attn.proj.weight.reshape(d, h, d // h).permute(1, 2, 0)
        w[mha + 'out/bias'] = blk.attn.proj.bias
        for r, fc in enumerate((blk.mlp.fc1, blk.mlp.fc2)):
            w[p + f'MlpBlock_3/Dense_{r}/kernel'] = fc.weight.t()
            w[p + f'MlpBlock_3/Dense_{r}/bias'] = fc.bias
    np.savez(path, **{k: v.detach().numpy() for k, v in w.items()})


def _weights(path):
    return dict(type='sfmm.Pretrained', checkpoint=str(path))


def _timm_teacher(path):
    t = TimmViTTeacher('vit_base_patch16_224.augreg2_in21k_ft_in1k', model_kwargs=TIMM_KW,
                       init_cfg=_weights(path))
    t.init_weights()
    return t


@pytest.mark.parametrize('fmt', ['pth', 'safetensors', 'npz'])
def test_timm_teacher_formats(tmp_path, fmt):
    ref = _timm_ref()
    path = tmp_path / f'w.{fmt}'
    if fmt == 'pth':
        torch.save({'model': ref.state_dict()}, path)
    elif fmt == 'safetensors':
        save_file({k: v.contiguous() for k, v in ref.state_dict().items()}, str(path))
    else:
        write_augreg_npz(ref, path)
    teacher = _timm_teacher(path)
    for k, v in ref.state_dict().items():
        torch.testing.assert_close(teacher.model.state_dict()[k], v, msg=k)
    x = torch.randn(2, 3, 32, 32)
    out = teacher(x, with_logits=True)
    with torch.no_grad():
        feats = ref.norm(ref.blocks(ref._pos_embed(ref.patch_embed(x))))
        torch.testing.assert_close(out['embed'], feats[:, 0])  # [CLS] after the final norm
        torch.testing.assert_close(out['logits'], ref(x))


def test_timm_npz_missing_tensor_is_an_error(tmp_path):
    path = tmp_path / 'nohead.npz'
    write_augreg_npz(_timm_ref(), path, with_head=False)
    with pytest.raises(RuntimeError, match='head.weight'):
        _timm_teacher(path)


def test_timm_strict_pth(tmp_path):
    sd = _timm_ref().state_dict()
    sd['extra.weight'] = torch.zeros(1)
    torch.save(sd, tmp_path / 'w.pth')
    with pytest.raises(KeyError, match=r"w\.pth.*unexpected keys \['model\.extra\.weight'\]"):
        _timm_teacher(tmp_path / 'w.pth')


def test_missing_file_names_path_and_source(tmp_path):
    path = tmp_path / 'absent.npz'
    teacher = TimmViTTeacher('vit_base_patch16_224', model_kwargs=TIMM_KW,
                             init_cfg=_weights(path))
    with pytest.raises(FileNotFoundError, match=r'absent\.npz.*huggingface\.co/timm'):
        teacher.init_weights()
    with pytest.raises(ValueError, match='hub'):
        TimmViTTeacher('hf-hub:timm/vit_base_patch16_224', init_cfg=_weights(path))


def test_teacher_weights_come_only_from_a_strict_init_cfg(tmp_path):
    torch.save(_timm_ref().state_dict(), tmp_path / 'w.pth')
    with pytest.raises(ValueError, match='has no weights'):
        TimmViTTeacher('vit_base_patch16_224', model_kwargs=TIMM_KW).init_weights()
    with pytest.raises(ValueError, match='sfmm.Pretrained'):
        TimmViTTeacher('vit_base_patch16_224', model_kwargs=TIMM_KW,
                       init_cfg=dict(type='Kaiming', layer='Linear'))
    # mmengine's non-strict 'Pretrained' is read as the strict sfmm.Pretrained
    legacy = TimmViTTeacher('vit_base_patch16_224', model_kwargs=TIMM_KW,
                            init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'w.pth')))
    assert legacy.init_cfg['type'] == 'sfmm.Pretrained'
    legacy.init_weights()
    assert legacy.is_init and not any(p.requires_grad for p in legacy.parameters())
    # a truncated file is an error naming it
    data = (tmp_path / 'w.pth').read_bytes()
    (tmp_path / 'cut.pth').write_bytes(data[:len(data) // 2])
    with pytest.raises(RuntimeError, match=r'cut\.pth'):
        _timm_teacher(tmp_path / 'cut.pth')


def test_teacher_frozen_eval_no_grad_and_autocast(tmp_path):
    torch.save(_timm_ref().state_dict(), tmp_path / 'w.pth')
    teacher = _timm_teacher(tmp_path / 'w.pth')
    teacher.train()
    assert not teacher.training and not teacher.model.training
    assert not any(p.requires_grad for p in teacher.parameters())
    x = torch.randn(2, 3, 32, 32, requires_grad=True)
    assert not teacher(x)['embed'].requires_grad
    with torch.autocast('cpu', dtype=torch.bfloat16):
        # the classifier is a Linear, which autocast runs in bfloat16
        assert teacher(x, with_logits=True)['logits'].dtype == torch.bfloat16


def test_renormalisation_and_resize(tmp_path):
    torch.save(_timm_ref().state_dict(), tmp_path / 'w.pth')
    teacher = _timm_teacher(tmp_path / 'w.pth')
    raw = torch.rand(2, 3, 32, 32) * 255
    expected = teacher((raw - 127.5) / 127.5)['embed']
    mean, std = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]
    teacher.set_input_normalization(mean, std)
    x = (raw - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    torch.testing.assert_close(teacher(x)['embed'], expected, atol=1e-4, rtol=1e-4)
    assert teacher(torch.randn(1, 3, 48, 48))['embed'].shape == (1, 32)  # resized to 32


def _clip_ref():
    torch.manual_seed(0)
    cfg = CLIP_CFG['vision_cfg']
    return build_vision_tower(CLIP_CFG['embed_dim'], cfg, True).eval()


class _FullClip(torch.nn.Module):
    """Stands in for an OpenAI CLIP TorchScript archive (visual + a text-side parameter)."""

    def __init__(self, visual):
        super().__init__()
        self.visual = visual
        self.logit_scale = torch.nn.Parameter(torch.ones(()))

    def forward(self, x):
        return self.visual(x) * self.logit_scale


@pytest.mark.parametrize('fmt', ['full.bin', 'visual.safetensors', 'torchscript.pt'])
def test_open_clip_teacher_formats(tmp_path, fmt):
    ref = _clip_ref()
    path = str(tmp_path / fmt)
    if fmt == 'full.bin':
        sd = {f'visual.{k}': v for k, v in ref.state_dict().items()}
        sd.update({'transformer.resblocks.0.ln_1.weight': torch.ones(8),
                   'logit_scale': torch.ones(())})
        torch.save(sd, path)
    elif fmt == 'visual.safetensors':
        save_file({k: v.contiguous() for k, v in ref.state_dict().items()}, path)
    else:
        torch.jit.trace(_FullClip(ref), torch.randn(1, 3, 32, 32), check_trace=False).save(path)
    teacher = OpenCLIPTeacher('tiny', model_cfg=CLIP_CFG, init_cfg=_weights(path))
    teacher.init_weights()
    x = torch.randn(2, 3, 32, 32)
    out = teacher(x)
    assert out['embed'].shape == (2, 16)
    with torch.no_grad():
        torch.testing.assert_close(out['embed'], ref(x))  # after the projection
    sd, layout = teacher.inheritable_state_dict()
    assert layout == 'open_clip' and 'proj' in sd
    with pytest.raises(ValueError, match='no classifier'):
        teacher(x, with_logits=True)


def test_open_clip_builtin_names_build():
    teacher = OpenCLIPTeacher('ViT-B-16', init_cfg=_weights('checkpoints/none.pt'))
    assert teacher.visual.proj.shape == (768, 512)
    assert teacher.visual.transformer.resblocks[0].mlp.gelu.__class__.__name__ == 'QuickGELU'
    with pytest.raises(FileNotFoundError, match='none.pt'):
        teacher.init_weights()


def test_mmpretrain_teacher(tmp_path):
    pytest.importorskip('mmpretrain')
    kw = dict(arch=dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=128),
              img_size=32, patch_size=16, num_classes=10)
    torch.manual_seed(0)
    src = MMPretrainViTTeacher(**kw)
    with torch.no_grad():
        for p in src.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    torch.save({'state_dict': src.state_dict(), 'meta': {}}, tmp_path / 'mmp.pth')
    teacher = MMPretrainViTTeacher(init_cfg=_weights(tmp_path / 'mmp.pth'), **kw)
    teacher.init_weights()
    x = torch.randn(2, 3, 32, 32)
    out = teacher(x, with_logits=True)
    with torch.no_grad():
        feats = src.backbone(x)
        torch.testing.assert_close(out['embed'], feats[-1])
        torch.testing.assert_close(out['logits'], src.head(feats))
    sd, layout = teacher.inheritable_state_dict()
    assert layout == 'mmpretrain' and 'backbone.ln1.weight' in sd


def test_teacher_builds_on_meta_device():
    """Shape-only construction (no memory, no file) works, e.g. for counting parameters."""
    with torch.device('meta'):
        teacher = TimmViTTeacher('vit_base_patch16_224', model_kwargs=TIMM_KW,
                                 init_cfg=_weights('absent.safetensors'))
        teacher.set_input_normalization([0.] * 3, [255.] * 3)
    assert teacher._renormalize and teacher._scale.is_meta
