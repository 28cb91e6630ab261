"""LoadImageFromFileSafe decoding of odd formats; LimitAspectRatio in the host pipelines."""
import numpy as np
import pytest
import torch
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope
from PIL import Image

from sfmm.datasets.transforms import LimitAspectRatio, LoadImageFromFileSafe

# the three pipelines of the brief, with the sfmm transforms wired in as configs would
CLS_VAL = [
    dict(type='sfmm.LoadImageFromFileSafe', fail_on_error=True),
    dict(type='sfmm.LimitAspectRatio'),
    dict(type='ResizeEdge', scale=248, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
BOOTSTRAP_TRAIN = [
    dict(type='sfmm.LoadImageFromFileSafe'),
    dict(type='sfmm.LimitAspectRatio'),
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.5, 1.0),
         backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
SEG_TEST = [
    dict(type='sfmm.LoadImageFromFileSafe', fail_on_error=True),
    dict(type='Resize', scale=(2048, 512), keep_ratio=True),
    dict(type='sfmm.LimitAspectRatio', record_padding=True),
    dict(type='sfmm.LoadSegAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs',
         meta_keys=('img_path', 'seg_map_path', 'ori_shape', 'img_shape', 'pad_shape',
                    'scale_factor', 'flip', 'flip_direction', 'reduce_zero_label',
                    'img_padding_size')),
]
SEG_TRAIN = [
    dict(type='sfmm.LoadImageFromFileSafe'),
    dict(type='sfmm.LoadSegAnnotations', reduce_zero_label=True),
    dict(type='sfmm.LimitAspectRatio'),
    dict(type='RandomResize', scale=(2048, 512), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(512, 512), cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]


def _rgb(h: int = 6, w: int = 10) -> np.ndarray:
    """A deterministic RGB test card."""
    arr = np.zeros((h, w, 3), np.uint8)
    arr[..., 0] = 200
    arr[..., 1] = np.arange(w, dtype=np.uint8)[None] * 20
    arr[..., 2] = np.arange(h, dtype=np.uint8)[:, None] * 30
    return arr


def _load(path, **kwargs) -> np.ndarray:
    out = LoadImageFromFileSafe(**kwargs)(dict(img_path=str(path)))
    assert out is not None
    assert out['img_shape'] == out['ori_shape'] == out['img'].shape[:2]
    return out['img']


@pytest.mark.parametrize('suffix', ['png', 'jpg'])
def test_rgb_matches_mmcv_loader(tmp_path, suffix):
    from mmcv.transforms import LoadImageFromFile
    path = tmp_path / f'rgb.{suffix}'
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (24, 40, 3), dtype=np.uint8)
    rgb[:, :20, 0] = 250  # an asymmetric colour: a channel swap cannot pass
    Image.fromarray(rgb).save(path)
    ours = _load(path)
    ref = LoadImageFromFile()(dict(img_path=str(path)))['img']
    assert ours.dtype == np.uint8 and ours.shape == (24, 40, 3) and ours.flags.writeable
    # BGR like the cv2 default; identical with the pinned OpenCV / Pillow (both libjpeg-turbo)
    np.testing.assert_array_equal(ours, ref)
    if suffix == 'png':
        np.testing.assert_array_equal(ours[..., ::-1], rgb)


@pytest.mark.parametrize('mode', ['L', '1'])
def test_grayscale_becomes_three_channels(tmp_path, mode):
    gray = (np.arange(60, dtype=np.uint8).reshape(6, 10) * 4)
    img = Image.fromarray(gray).convert(mode)
    img.save(tmp_path / 'g.png')
    out = _load(tmp_path / 'g.png')
    assert out.shape == (6, 10, 3)
    expect = np.asarray(img.convert('L'))
    for c in range(3):
        np.testing.assert_array_equal(out[..., c], expect)
    assert _load(tmp_path / 'g.png', color_type='grayscale').shape == (6, 10)


def test_rgba_alpha_dropped_or_composited(tmp_path):
    rgba = np.dstack([_rgb(), np.full((6, 10), 255, np.uint8)])
    rgba[:, :5, 3] = 0  # left half transparent
    Image.fromarray(rgba, mode='RGBA').save(tmp_path / 'a.png')
    dropped = _load(tmp_path / 'a.png')
    np.testing.assert_array_equal(dropped[..., ::-1], _rgb())
    black = _load(tmp_path / 'a.png', alpha='black')
    assert (black[:, :5] == 0).all()
    np.testing.assert_array_equal(black[:, 5:, ::-1], _rgb()[:, 5:])


def test_la_image(tmp_path):
    la = np.dstack([np.full((6, 10), 90, np.uint8), np.full((6, 10), 0, np.uint8)])
    Image.fromarray(la, mode='LA').save(tmp_path / 'la.png')
    assert (_load(tmp_path / 'la.png') == 90).all()
    assert (_load(tmp_path / 'la.png', alpha='black') == 0).all()


def test_palette_png(tmp_path):
    img = Image.fromarray(_rgb()).convert('P', palette=Image.Palette.ADAPTIVE, colors=16)
    img.save(tmp_path / 'p.png')
    assert Image.open(tmp_path / 'p.png').mode == 'P'
    out = _load(tmp_path / 'p.png')
    np.testing.assert_array_equal(out[..., ::-1], np.asarray(img.convert('RGB')))
    # a palette image with a transparent index
    img.save(tmp_path / 'pt.png', transparency=0)
    assert _load(tmp_path / 'pt.png').shape == (6, 10, 3)


def test_cmyk_jpeg(tmp_path):
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 200, 50, 10
    Image.fromarray(rgb).convert('CMYK').save(tmp_path / 'cmyk.jpg', quality=100)
    assert Image.open(tmp_path / 'cmyk.jpg').mode == 'CMYK'
    out = _load(tmp_path / 'cmyk.jpg')
    assert out.shape == (8, 8, 3)
    np.testing.assert_allclose(out[..., ::-1].reshape(-1, 3).mean(0), [200, 50, 10], atol=3)


def test_16bit_png_scaled_not_clipped(tmp_path):
    vals = np.array([[0, 257, 1000, 32896, 65535, 65535]], np.uint16).repeat(2, 0)
    img = Image.new('I;16', (6, 2))
    img.frombytes(vals.astype('<u2').tobytes())
    img.save(tmp_path / 'g16.png')
    assert Image.open(tmp_path / 'g16.png').mode.startswith('I')
    out = _load(tmp_path / 'g16.png')
    assert out.dtype == np.uint8 and out.shape == (2, 6, 3)
    # 65535 -> 255, 32896 -> 128, 1000 -> 4: a linear scale, where clipping would give 255s
    np.testing.assert_array_equal(out[0, :, 0], [0, 1, 4, 128, 255, 255])


def test_exif_orientation_applied(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    Image.fromarray(_rgb(6, 10)).save(tmp_path / 'rot.jpg', exif=exif)
    assert _load(tmp_path / 'rot.jpg').shape == (10, 6, 3)


def test_array_input_normalised():
    t = LoadImageFromFileSafe()
    out = t(dict(img=np.full((4, 5), 7, np.uint8)))
    assert out['img'].shape == (4, 5, 3) and (out['img'] == 7).all()
    out = t(dict(img=np.zeros((4, 5, 4), np.uint8)))
    assert out['img'].shape == (4, 5, 3)
    out = t(dict(img=np.full((4, 5, 3), 65535, np.uint16)))
    assert out['img'].dtype == np.uint8 and (out['img'] == 255).all()


def test_bad_arguments_rejected():
    with pytest.raises(ValueError, match='alpha'):
        LoadImageFromFileSafe(alpha='white')
    with pytest.raises(ValueError, match='color_type'):
        LoadImageFromFileSafe(color_type='unchanged')
    with pytest.raises(ValueError, match='max_ratio'):
        LimitAspectRatio(max_ratio=0.5)


@pytest.mark.parametrize('hw,expect', [((1, 4000), (400, 4000)), ((4000, 1), (4000, 400)),
                                       ((3, 7), (3, 7))])
def test_limit_aspect_ratio_pads_short_side(hw, expect):
    img = np.full(hw + (3, ), 9, np.uint8)
    seg = np.ones(hw, np.uint8)
    out = LimitAspectRatio(max_ratio=10, pad_val=(1, 2, 3))(
        dict(img=img, gt_seg_map=seg, img_shape=hw))
    assert out['img'].shape[:2] == out['img_shape'] == expect == out['gt_seg_map'].shape
    left, right, top, bottom = out['aspect_padding']
    core = out['img'][top:top + hw[0], left:left + hw[1]]
    assert (core == 9).all() and out['img'].sum() == 9 * img.size + 6 * (
        np.prod(expect) - np.prod(hw))  # padding holds (1, 2, 3) per pixel
    assert (out['gt_seg_map'] == 255).sum() == np.prod(expect) - np.prod(hw)
    if hw == (3, 7):
        assert out['img'] is img  # untouched when within the ratio
    else:
        assert abs((top + bottom) - (left + right)) > 0 and abs(top - bottom) <= 1
        assert abs(left - right) <= 1


def _tiny_backbone():
    from sfmm.models.backbones import SparseFormer
    return SparseFormer(
        arch=dict(focus_dims=64, embed_dims=32, num_layers=1, num_heads=2),
        num_latent_tokens=8, num_points=4, conv_channels=16, focus_repeats=1,
        out_keys=('feat_map', 'embed')).eval()


def _run_backbone(backbone, img_chw: torch.Tensor) -> None:
    x = (img_chw.float()[None] - 127.5) / 127.5
    with torch.no_grad():
        feat, embed = backbone(x)
    assert feat.shape[-2:] == (-(-x.shape[-2] // 4), -(-x.shape[-1] // 4))  # ceil(/4)
    assert embed.shape == (1, 32) and torch.isfinite(embed).all()


@pytest.mark.parametrize('hw', [(1, 4000), (4000, 1)])
def test_extreme_ratio_classification_pipelines(tmp_path, hw):
    init_default_scope('mmpretrain')
    path = tmp_path / 'strip.png'
    Image.fromarray(np.full(hw + (3, ), 120, np.uint8)).save(path)
    backbone = _tiny_backbone()
    for pipeline in (CLS_VAL, BOOTSTRAP_TRAIN):
        out = Compose(pipeline)(dict(img_path=str(path)))
        assert tuple(out['inputs'].shape) == (3, 224, 224)
        assert out['data_samples'].ori_shape == hw
        _run_backbone(backbone, out['inputs'])


@pytest.mark.parametrize('hw,expect', [((1, 4000), (205, 2048)), ((4000, 1), (2048, 205))])
def test_extreme_ratio_segmentation_test_pipeline(tmp_path, hw, expect):
    from mmseg.models.segmentors.base import BaseSegmentor

    init_default_scope('mmseg')
    img = np.zeros(hw + (3, ), np.uint8)
    seg = np.zeros(hw, np.uint8)
    long_axis = 1 if hw[1] > hw[0] else 0
    half = max(hw) // 2
    sl = (slice(None), slice(half, None)) if long_axis else (slice(half, None), slice(None))
    img[sl] = 255
    seg[sl] = 2
    Image.fromarray(img).save(tmp_path / 'strip.jpg', quality=100)
    Image.fromarray(seg).save(tmp_path / 'strip.png')
    # without the pad, Resize leaves a 1-pixel side that a stride-4 stem cannot use
    plain = Compose(SEG_TEST[:2])(dict(img_path=str(tmp_path / 'strip.jpg')))
    assert min(plain['img'].shape[:2]) == 1

    out = Compose(SEG_TEST)(dict(img_path=str(tmp_path / 'strip.jpg'),
                                 seg_map_path=str(tmp_path / 'strip.png'),
                                 reduce_zero_label=True, seg_fields=[]))
    sample = out['data_samples']
    assert tuple(out['inputs'].shape) == (3, ) + expect
    assert sample.ori_shape == hw and sample.gt_sem_seg.shape == hw
    _run_backbone(_tiny_backbone(), out['inputs'])

    # logits that copy the padded input (class 1 where bright, 2 on padding): mmseg's
    # postprocess must crop the recorded padding and give back the original layout
    x = out['inputs'].float()
    left, right, top, bottom = sample.img_padding_size
    logits = torch.zeros((1, 3) + expect)
    logits[0, 1] = x[0] / 255
    logits[0, 0] = 1 - x[0] / 255
    pad = torch.ones(expect, dtype=torch.bool)
    pad[top:expect[0] - bottom, left:expect[1] - right] = False
    logits[0, 2][pad] = 10
    host = type('Seg', (), {'align_corners': False})()
    pred = BaseSegmentor.postprocess_result(host, logits, [sample])[0].pred_sem_seg.data[0]
    assert tuple(pred.shape) == hw
    assert not (pred == 2).any()
    gt = torch.from_numpy(seg.astype(np.int64) // 2)
    assert (pred == gt).float().mean() > 0.99


@pytest.mark.parametrize('hw', [(1, 4000), (4000, 1)])
def test_extreme_ratio_segmentation_train_pipeline(tmp_path, hw):
    init_default_scope('mmseg')
    Image.fromarray(np.full(hw + (3, ), 100, np.uint8)).save(tmp_path / 's.jpg')
    Image.fromarray(np.full(hw, 3, np.uint8)).save(tmp_path / 's.png')
    results = dict(img_path=str(tmp_path / 's.jpg'), seg_map_path=str(tmp_path / 's.png'),
                   reduce_zero_label=True, seg_fields=[])
    # mmseg alone: RandomResize (ratio < ~0.98) rounds the 1-pixel side to 0 and cv2 asserts
    np.random.seed(0)
    failures = 0
    for _ in range(10):
        try:
            Compose(SEG_TRAIN[:2] + SEG_TRAIN[3:])(dict(results, seg_fields=[]))
        except Exception as e:  # cv2.error
            assert 'inv_scale' in str(e)
            failures += 1
    assert failures > 0
    for _ in range(5):  # with the pad, every random draw works
        out = Compose(SEG_TRAIN)(dict(results, seg_fields=[]))
        h, w = out['inputs'].shape[-2:]
        assert out['data_samples'].gt_sem_seg.shape == (h, w)
        assert 1 < min(h, w) and max(h, w) == 512
        gt = out['data_samples'].gt_sem_seg.data
        assert set(gt.unique().tolist()) <= {2, 255}  # label 3 -> 2, padding -> ignore
    _run_backbone(_tiny_backbone(), out['inputs'])
