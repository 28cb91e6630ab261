"""Every configs/bootstrap config parses, and its model builds and trains one step when shrunk.

Shrinking keeps each config's structure (teacher type, truncation vs none, how many blocks tune,
head or not, which losses, continued from a checkpoint or inherited) and only swaps the sizes:
a 2-block cortex of width 32 and a tiny teacher file saved under tmp_path.
"""
import glob
import os.path as osp

import pytest
import timm
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from sfmm.models.utils.open_clip_towers import build_vision_tower

from sfmm.registry import MODELS

pytest.importorskip('mmpretrain')
REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs/bootstrap/**/*.py'), recursive=True))
DEPTH = 2  # tiny student cortex


def test_configs_found():
    assert len(CONFIGS) == 25, [osp.basename(c) for c in CONFIGS]


def _shrink(model: dict, tmp_path) -> dict:
    clip = model.teacher.type == 'sfmm.OpenCLIPTeacher'
    truncate = 0
    if model.get('inherit'):
        truncate = min(model.inherit.truncate, 1)
        model.inherit.truncate = truncate
    model.backbone.arch = dict(focus_dims=64, embed_dims=32, num_layers=DEPTH, num_heads=2,
                               act='quick_gelu' if clip else 'gelu',
                               proj_dims=16 if clip else None)
    tokens = model.backbone.num_latent_tokens
    model.backbone.update(num_latent_tokens=min(tokens, 8) + (tokens > 48), num_points=4,
                          conv_channels=16)
    if model.num_tunable is not None:
        model.num_tunable = min(model.num_tunable, DEPTH)
    torch.manual_seed(0)
    if clip:
        vcfg = dict(embed_dim=16, vision_cfg=dict(image_size=32, patch_size=16, width=32,
                                                  layers=truncate + DEPTH, head_width=16))
        visual = build_vision_tower(16, vcfg['vision_cfg'], True)
        path = str(tmp_path / 'clip.bin')
        torch.save({f'visual.{k}': v for k, v in visual.state_dict().items()}, path)
        model.teacher.update(model_cfg=vcfg)
    else:
        kw = dict(img_size=32, embed_dim=32, depth=truncate + DEPTH, num_heads=2, num_classes=10)
        vit = timm.create_model('vit_base_patch16_224', pretrained=False, **kw)
        path = str(tmp_path / 'vit.pth')
        torch.save(vit.state_dict(), path)
        model.teacher.update(model_kwargs=kw)
    model.teacher.init_cfg.checkpoint = path
    if model.get('head'):
        model.head.update(num_classes=10, in_channels=32)
    return model


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, REPO))
def test_config_builds_and_steps(path, tmp_path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmpretrain'
    header = open(path).read().split('\n_base_')[0]
    assert 'Table' in header and ('top-1' in header or 'zero-shot' in header), 'header lacks row'
    init_default_scope('mmpretrain')
    from mmpretrain.registry import DATASETS, TRANSFORMS
    assert DATASETS.get(cfg.train_dataloader.dataset.type) is not None
    for t in cfg.train_dataloader.dataset.pipeline:
        assert TRANSFORMS.get(t['type']) is not None, t['type']

    model_cfg = _shrink(cfg.model, tmp_path)
    model_cfg.data_preprocessor = cfg.data_preprocessor
    if model_cfg.backbone.get('init_cfg'):  # a shorter-token bootstrap to continue from
        assert model_cfg.inherit is None and model_cfg.backbone.init_cfg.extend_tokens
        short = dict(model_cfg, inherit=dict(truncate=0),
                     backbone=dict(model_cfg.backbone, num_latent_tokens=8, init_cfg=None))
        if model_cfg.get('head'):
            short['head'] = dict(model_cfg.head, init_cfg=None)
        short_model = MODELS.build(short)
        short_model.init_weights()
        ckpt = tmp_path / 'short.pth'
        torch.save({'state_dict': short_model.state_dict()}, ckpt)
        model_cfg.backbone.init_cfg.checkpoint = str(ckpt)
        if model_cfg.get('head'):  # the inherited classifier comes along
            assert model_cfg.head.init_cfg.prefix == 'head.'
            model_cfg.head.init_cfg.checkpoint = str(ckpt)
    model = MODELS.build(model_cfg)
    model.init_weights()
    data = dict(inputs=[torch.randint(0, 255, (3, 32, 32), dtype=torch.uint8)] * 2)
    if model.cls_loss_weight:
        from mmpretrain.structures import DataSample
        data['data_samples'] = [DataSample().set_gt_label(1), DataSample().set_gt_label(2)]
    data = model.data_preprocessor(data, True)
    losses = model(**data, mode='loss')
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
