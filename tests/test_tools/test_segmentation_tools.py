"""The ADE20K SparseFormer segmenters train and test through tools/train.py and tools/test.py.

A tiny arch override of each leaf config runs a few iterations on a fabricated ADE20K-layout
folder, is evaluated with IoUMetric (aAcc / mIoU / mAcc) and writes coloured predictions with
``--show-dir``. The backbone starts from a tiny *8-token* checkpoint, so the token extension
of the backbone's ``sfmm.Pretrained`` init_cfg (``extend_tokens=True``) is exercised too.
"""
import glob
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

from conftest import REPO_ROOT, load_tool

train_tool = load_tool('tools/train.py')
test_tool = load_tool('tools/test.py')

SEG_CONFIGS = ['sf-b_augreg_ade20k-512x512.py', 'sf-l_augreg_ade20k-512x512.py',
               'sf-b_augreg_stride2-head_ade20k-512x512.py']
TINY_ARCH = dict(focus_dims=64, embed_dims=64, num_layers=2, num_heads=2)
CKPT_TOKENS, SEG_TOKENS = 8, 15  # latent tokens of the "bootstrap" checkpoint / segmenter
COLOURS = [(200, 40, 40), (40, 200, 40), (40, 40, 200)]


def write_tiny_ade20k(root: str, num_train: int = 4, num_val: int = 2, size=(48, 64),
                      seed: int = 0) -> str:
    """``images/{training,validation}/*.jpg`` + ``annotations/.../*.png`` (ADE20K layout).

    Labels: 0 ("other", ignored with reduce_zero_label) on a thin border and classes 1..3 as
    coloured vertical bands whose widths vary per image.
    """
    from PIL import Image

    rng = np.random.default_rng(seed)
    h, w = size
    for split, count in (('training', num_train), ('validation', num_val)):
        os.makedirs(osp.join(root, 'images', split), exist_ok=True)
        os.makedirs(osp.join(root, 'annotations', split), exist_ok=True)
        for i in range(count):
            cuts = np.sort(rng.choice(np.arange(8, w - 8), 2, replace=False))
            label = np.zeros((h, w), np.uint8)
            img = rng.integers(0, 30, (h, w, 3)).astype(np.uint8)
            for k, (x0, x1) in enumerate(zip([0, *cuts], [*cuts, w])):
                label[2:-2, x0:x1] = k + 1
                img[2:-2, x0:x1] += np.array(COLOURS[k], np.uint8)
            label[:, :2] = 0
            name = f'ADE_{split}_{i:08d}'
            Image.fromarray(img).save(osp.join(root, 'images', split, name + '.jpg'))
            Image.fromarray(label).save(osp.join(root, 'annotations', split, name + '.png'))
    return root


def write_tiny_checkpoint(path: str) -> dict:
    """A tiny 8-token SparseFormer saved the way a bootstrap run saves it (``backbone.*``)."""
    from sfmm.models.backbones import SparseFormer

    torch.manual_seed(1)
    model = SparseFormer(arch=TINY_ARCH, num_latent_tokens=CKPT_TOKENS, conv_channels=16)
    with torch.no_grad():
        model.init_rois.weight.uniform_(0.1, 0.4)  # "learned" RoIs, unlike any grid
    state = {f'backbone.{k}': v for k, v in model.state_dict().items()}
    state['head.fc.weight'] = torch.zeros(3, 64)  # other keys are filtered out by the prefix
    torch.save(dict(state_dict=state, meta=dict()), path)
    return state


def write_tiny_config(tmp_path, leaf: str, data_root: str, checkpoint: str,
                      img_suffix: str = '.jpg', exact_test: bool = False,
                      extra: str = '') -> str:
    """Shrink a leaf config: tiny arch, 64x64 crops, 4 iterations, validation at the end.

    ``exact_test``: test on the images as they are (no Resize, whole-image inference), so
    that the network input is the file's pixels. ``extra`` is appended.
    """
    path = tmp_path / f'tiny_{leaf}'
    # the stride-2 head takes the backbone's stride-2 map as a fourth input
    head_in = (16, 4, 64, 16) if 'stride2' in leaf else (16, 4, 64)
    test_cfg = "dict(_delete_=True, mode='whole')" if exact_test else \
        'dict(crop_size=crop_size, stride=(43, 43))'
    resize = '' if exact_test else "dict(type='Resize', scale=(128, 64), keep_ratio=True),"
    path.write_text(f'''
_base_ = [{osp.join(REPO_ROOT, 'configs/segmentation', leaf)!r}]
crop_size = (64, 64)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(arch=dict(_delete_=True, **{TINY_ARCH!r}), num_latent_tokens={SEG_TOKENS},
                  conv_channels=16, drop_path_rate=0.1,
                  init_cfg=dict(checkpoint={checkpoint!r})),
    decode_head=dict(in_channels={head_in!r}, channels=32, num_heads=2),
    test_cfg={test_cfg})
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomResize', scale=(128, 64), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    {resize}
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root={data_root!r}, img_suffix={img_suffix!r},
                                     pipeline=train_pipeline))
val_dataloader = dict(num_workers=0, persistent_workers=False,
                      dataset=dict(data_root={data_root!r}, img_suffix={img_suffix!r},
                                   pipeline=test_pipeline))
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=2),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=2, end=4),
]
train_cfg = dict(max_iters=4, val_interval=4)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=4))
''' + extra)
    return str(path)


def metrics_by_hand(pred_dir: str, data_root: str, num_classes: int = 150) -> dict:
    """aAcc / mIoU / mAcc (in %) of the prediction PNGs that ``tools/test.py --out`` writes.

    ADE20K with reduce_zero_label: annotation 0 is ignored and k is class k - 1; the saved
    maps hold class + 1. Totals over all images; mIoU / mAcc average the classes whose
    union / label area is not empty.
    """
    from PIL import Image

    inter, pred_area, label_area = (np.zeros(num_classes) for _ in range(3))
    anns = sorted(glob.glob(osp.join(data_root, 'annotations', 'validation', '*.png')))
    assert anns
    for ann in anns:
        label = np.asarray(Image.open(ann)).astype(np.int64) - 1
        pred = np.asarray(Image.open(osp.join(pred_dir, osp.basename(ann)))).astype(
            np.int64) - 1
        keep = label >= 0
        label, pred = label[keep], pred[keep]
        inter += np.bincount(label[pred == label], minlength=num_classes)
        pred_area += np.bincount(pred, minlength=num_classes)
        label_area += np.bincount(label, minlength=num_classes)
    union = pred_area + label_area - inter
    return dict(aAcc=100 * inter.sum() / label_area.sum(),
                mIoU=100 * np.mean(inter[union > 0] / union[union > 0]),
                mAcc=100 * np.mean(inter[label_area > 0] / label_area[label_area > 0]))


@pytest.fixture(scope='module')
def tiny_ade(tmp_path_factory):
    root = tmp_path_factory.mktemp('ade')
    data_root = write_tiny_ade20k(str(root / 'ADEChallengeData2016'))
    ckpt = str(root / 'sf_tiny_8tok.pth')
    state = write_tiny_checkpoint(ckpt)
    return data_root, ckpt, state


@pytest.mark.parametrize('leaf', SEG_CONFIGS)
def test_segmenter_builds_with_extended_tokens(tmp_path, tiny_ade, leaf):
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    data_root, ckpt, state = tiny_ade
    cfg = Config.fromfile(write_tiny_config(tmp_path, leaf, data_root, ckpt))
    assert cfg.model.backbone.init_cfg.extend_tokens  # the leaf asks for token extension
    # the segmenter's backbone has no embedding head: the leaf drops the checkpoint's by name
    assert tuple(cfg.model.backbone.init_cfg.drop_keys) == ('norm', 'proj')
    init_default_scope('mmseg')
    undropped = cfg.model.to_dict()
    undropped['backbone']['init_cfg'].pop('drop_keys')
    with pytest.raises(KeyError, match='norm.weight'):
        MODELS.build(undropped).init_weights()
    model = MODELS.build(cfg.model)
    model.init_weights()
    assert model.backbone.norm is None and 'backbone.norm.weight' not in model.state_dict()
    rois = model.backbone.init_rois.weight.detach()
    assert rois.shape == (SEG_TOKENS, 4)
    # the checkpoint's learned RoIs are kept, the new tokens start on a grid
    torch.testing.assert_close(rois[:CKPT_TOKENS], state['backbone.init_rois.weight'])
    from sfmm.models.backbones.sparseformer import initial_roi_grid
    torch.testing.assert_close(rois[CKPT_TOKENS:], initial_roi_grid(SEG_TOKENS - CKPT_TOKENS))
    # everything else of the backbone comes from the checkpoint
    torch.testing.assert_close(model.backbone.blocks[1].mlp.fc2.weight,
                               state['backbone.blocks.1.mlp.fc2.weight'])
    # layer-wise lr decay: focusing part < cortex blocks < decode head
    from mmengine.optim import build_optim_wrapper
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    lr = {g['param_name']: g['lr'] for g in optim.optimizer.param_groups}
    base, rate = 1e-3, 0.95
    assert lr['decode_head.token_cls.weight'] == pytest.approx(base)
    assert lr['backbone.blocks.1.attn.qkv.weight'] == pytest.approx(base * rate)
    assert lr['backbone.blocks.0.attn.qkv.weight'] == pytest.approx(base * rate ** 2)
    assert lr['backbone.focus.stage_embed.weight'] == pytest.approx(base * rate ** 3)
    wd = {g['param_name']: g['weight_decay'] for g in optim.optimizer.param_groups}
    assert wd['backbone.blocks.0.attn.qkv.weight'] == pytest.approx(0.05)
    assert wd['backbone.blocks.0.attn.qkv.bias'] == 0
    assert wd['backbone.blocks.0.norm1.weight'] == 0


@pytest.mark.parametrize('leaf', SEG_CONFIGS)
def test_train_then_test_reports_miou_and_saves_colour_maps(tmp_path, tiny_ade, leaf):
    data_root, ckpt, _ = tiny_ade
    cfg_path = write_tiny_config(tmp_path, leaf, data_root, ckpt)
    work_dir = str(tmp_path / 'work')
    runner = train_tool.main([cfg_path, '--work-dir', work_dir])
    assert runner.iter == 4
    trained = osp.join(work_dir, 'iter_4.pth')
    assert osp.isfile(trained)
    # validation at the end of training went through IoUMetric
    assert 'val/mIoU' in runner.message_hub.log_scalars

    show_dir = str(tmp_path / 'show')
    metrics = test_tool.main([cfg_path, trained, '--work-dir', str(tmp_path / 'test'),
                              '--show-dir', show_dir, '--out', str(tmp_path / 'preds')])
    # the reported metrics are those of the saved predictions, computed here by hand
    expected = metrics_by_hand(str(tmp_path / 'preds'), data_root)
    for key in ('aAcc', 'mIoU', 'mAcc'):
        assert metrics[key] == pytest.approx(expected[key], abs=0.006), key
    # and the validation at the end of training (same weights, same data) reported the same
    assert runner.message_hub.get_scalar('val/mIoU').current() == pytest.approx(
        metrics['mIoU'], abs=1e-6)
    pngs = sorted(glob.glob(osp.join(show_dir, '**', '*.png'), recursive=True))
    assert len(pngs) == 2  # one per validation image
    from PIL import Image
    vis = np.asarray(Image.open(pngs[0]).convert('RGB')).astype(int)
    assert vis.shape[-1] == 3 and np.abs(vis[..., 0] - vis[..., 1]).max() > 0  # coloured
    preds = sorted(glob.glob(osp.join(str(tmp_path / 'preds'), '*.png')))
    assert len(preds) == 2
    assert np.asarray(Image.open(preds[0])).shape == (48, 64)  # original image size


def write_pool_invariant_pair(root: str, num_train: int = 4, num_val: int = 2,
                              size: int = 64, seed: int = 0) -> tuple:
    """Two ADE20K-layout folders of PNG images whose validation images differ only where the
    stride-2 map of a centre-tap early convolution changes and its max-pooled map does not.

    Pixels at multiples of 4 (both axes) are 255 in every channel; every other pixel is below
    250. With a 7x7/2 convolution whose only non-zero taps are the centre ones (output
    ``(i, j)`` reads pixel ``(2i, 2j)``) and positive weights, each 3x3/2 max-pool window of
    ReLU(conv) has its maximum at its centre, pixel ``(4p, 4q)``, so the pooled map is the
    same for every image. The second folder redraws the pixels at even, non-multiple-of-4
    positions of the validation images: the pre-pool (stride-2) map changes, the pooled one
    does not.
    """
    from PIL import Image

    rng = np.random.default_rng(seed)
    roots = (osp.join(root, 'base'), osp.join(root, 'perturbed'))
    even = np.zeros((size, size), bool)
    even[::2, ::2] = True
    even[::4, ::4] = False
    for split, count in (('training', num_train), ('validation', num_val)):
        for r in roots:
            os.makedirs(osp.join(r, 'images', split), exist_ok=True)
            os.makedirs(osp.join(r, 'annotations', split), exist_ok=True)
        for i in range(count):
            cut = int(rng.integers(16, size - 16))
            label = np.ones((size, size), np.uint8)
            label[:, cut:] = 2
            label[:2] = 0
            img = rng.integers(0, 250, (size, size, 3)).astype(np.uint8)
            img[label == 2, 1] //= 2
            img[::4, ::4] = 255
            other = img.copy()
            if split == 'validation':
                other[even] = rng.integers(0, 250, (int(even.sum()), 3)).astype(np.uint8)
            name = f'ADE_{split}_{i:08d}'
            for r, im in zip(roots, (img, other)):
                Image.fromarray(im).save(osp.join(r, 'images', split, name + '.png'))
                Image.fromarray(label).save(osp.join(r, 'annotations', split, name + '.png'))
    return roots


def _centre_tap_stem(state: dict, prefix: str = 'state_dict') -> None:
    """Make the early conv read only the centre pixel of its 7x7 window, with positive
    weights (channel c reads colour c % 3), no bias."""
    weight = state[prefix]['backbone.stem.conv.weight']
    new = torch.zeros_like(weight)
    for c in range(new.shape[0]):
        new[c, c % 3, 3, 3] = 1. + c / new.shape[0]
    state[prefix]['backbone.stem.conv.weight'] = new
    state[prefix]['backbone.stem.conv.bias'] = torch.zeros_like(
        state[prefix]['backbone.stem.conv.bias'])


@pytest.mark.parametrize('leaf,stride2', [
    ('sf-b_augreg_stride2-head_ade20k-512x512.py', True),
    ('sf-l_augreg_stride2-head_ade20k-512x512.py', True),
    ('sf-b_augreg_ade20k-512x512.py', False),  # control: the stride-4 head
])
def test_stride2_head_reads_the_pre_pool_map_through_the_tools(tmp_path, tiny_ade, leaf,
                                                               stride2):
    """Train a leaf with tools/train.py, then test the checkpoint (its early conv replaced by
    a centre-tap one) with tools/test.py on two image sets that differ only in the early
    conv's pre-pool stride-2 map: the stride-2 head's logits change, the stride-4 head's do
    not (an upsampled stride-4 map would not change either)."""
    import pickle

    from sfmm.weights import read_checkpoint
    _, ckpt, _ = tiny_ade
    base, perturbed = write_pool_invariant_pair(str(tmp_path / 'data'))
    dump = str(tmp_path / 'results.pkl')
    cfg_path = write_tiny_config(
        tmp_path, leaf, base, ckpt, img_suffix='.png', exact_test=True,
        extra=f"test_evaluator = [dict(type='IoUMetric', iou_metrics=['mIoU']), "
              f"dict(type='DumpResults', out_file_path={dump!r})]\n")
    work_dir = str(tmp_path / 'work')
    runner = train_tool.main([cfg_path, '--work-dir', work_dir])
    assert runner.iter == 4
    state = read_checkpoint(osp.join(work_dir, 'iter_4.pth'), unwrap=False)
    _centre_tap_stem(state)
    patched = str(tmp_path / 'centre_tap.pth')
    torch.save(state, patched)

    logits = []
    for root in (base, perturbed):
        test_tool.main([cfg_path, patched, '--work-dir', str(tmp_path / 'test'),
                        '--cfg-options', f'test_dataloader.dataset.data_root={root}'])
        with open(dump, 'rb') as f:
            results = sorted(pickle.load(f), key=lambda r: osp.basename(r['img_path']))
        assert [osp.basename(r['img_path']) for r in results] == [
            'ADE_validation_00000000.png', 'ADE_validation_00000001.png']
        logits.append(torch.stack([r['seg_logits']['data'] for r in results]))
    assert logits[0].shape == (2, 150, 64, 64)
    change = (logits[1] - logits[0]).abs().max().item()
    if stride2:
        assert change > 1e-3 * logits[0].abs().max().item()
    else:
        assert change < 1e-6
