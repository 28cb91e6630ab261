"""Tiny teachers saved under tmp_path for the bootstrapper tests."""
import pytest
import timm
import torch
from open_clip.model import _build_vision_tower

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
                checkpoint=str(path), model_kwargs=TIMM_KW)


@pytest.fixture
def clip_teacher_cfg(tmp_path):
    torch.manual_seed(1)
    visual = _build_vision_tower(CLIP_CFG['embed_dim'], CLIP_CFG['vision_cfg'], quick_gelu=True)
    path = tmp_path / 'teacher_clip.bin'
    torch.save({f'visual.{k}': v for k, v in visual.state_dict().items()}, path)
    return dict(type='sfmm.OpenCLIPTeacher', model_name='tiny', checkpoint=str(path),
                model_cfg=CLIP_CFG)
