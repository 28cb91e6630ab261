"""Broken files and broken dataset layouts on real mmpretrain / mmseg dataset objects.

Decisions under test (see configs/README.md, "Bad input handling"):

- a truncated / corrupt image or a non-image file is skipped with a warning naming it in
  training (mmengine re-fetches another sample) and is an error in test mode; with
  ``fail_on_error=True`` (val/test pipelines) the error names the file;
- a missing image is always an error naming the path;
- a missing or empty folder, or an ann file listing missing files, fails when the
  dataset is built (``sfmm.CheckedDataset``), naming the path.
"""
import os
import os.path as osp
import pickle
import warnings

import numpy as np
import pytest
from mmengine.registry import init_default_scope
from PIL import Image

from conftest import write_tiny_imagenet

CLS_PIPELINE = [
    dict(type='sfmm.LoadImageFromFileSafe'),
    dict(type='sfmm.LimitAspectRatio'),
    dict(type='ResizeEdge', scale=32, edge='short'),
    dict(type='CenterCrop', crop_size=32),
    dict(type='PackInputs'),
]
SEG_PIPELINE = [
    dict(type='sfmm.LoadImageFromFileSafe'),
    dict(type='sfmm.LoadSegAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs'),
]
ADE_PREFIX = dict(img_path='images/validation', seg_map_path='annotations/validation')


def _with_error_flag(pipeline, fail_on_error: bool):
    return [dict(t, fail_on_error=fail_on_error) if t['type'] == 'sfmm.LoadImageFromFileSafe'
            else t for t in pipeline]


def _jpeg_bytes(size: int = 32) -> bytes:
    import io
    buf = io.BytesIO()
    Image.fromarray(np.full((size, size, 3), 99, np.uint8)).save(buf, format='JPEG')
    return buf.getvalue()


def _write_truncated_jpeg(path: str) -> None:
    data = _jpeg_bytes()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])


def _write_text_as_image(path: str) -> None:
    with open(path, 'w') as f:
        f.write('this is not an image\n')


def _index_of(dataset, path: str) -> int:
    for i in range(len(dataset)):
        if dataset.get_data_info(i)['img_path'] == path:
            return i
    raise AssertionError(f'{path} not in dataset')


def _custom_folder(root: str) -> tuple:
    """``root/{a,b}/*.png`` good images, plus ``a/trunc.jpg`` and ``b/text.jpg``."""
    for cls in ('a', 'b'):
        os.makedirs(osp.join(root, cls))
        for i in range(3):
            Image.fromarray(np.full((40, 48, 3), 50 * i, np.uint8)).save(
                osp.join(root, cls, f'{i}.png'))
    bad = [osp.join(root, 'a', 'trunc.jpg'), osp.join(root, 'b', 'text.jpg')]
    _write_truncated_jpeg(bad[0])
    _write_text_as_image(bad[1])
    return bad


def _ade_folder(root: str, n: int = 3) -> list:
    """A tiny ADE20K layout; returns the image paths."""
    paths = []
    for sub in ADE_PREFIX.values():
        os.makedirs(osp.join(root, sub))
    for i in range(n):
        img = osp.join(root, ADE_PREFIX['img_path'], f'ADE_val_{i}.jpg')
        Image.fromarray(np.full((24, 32, 3), 40 * i, np.uint8)).save(img)
        Image.fromarray(np.full((24, 32), i + 1, np.uint8)).save(
            osp.join(root, ADE_PREFIX['seg_map_path'], f'ADE_val_{i}.png'))
        paths.append(img)
    return paths


def _build(scope: str, cfg: dict):
    init_default_scope(scope)
    from mmengine.registry import DATASETS
    return DATASETS.build(cfg)


# ----------------------------------------------------------------- the loader itself
@pytest.mark.parametrize('writer', [_write_truncated_jpeg, _write_text_as_image,
                                    lambda p: open(p, 'wb').close()])
def test_broken_file_skipped_with_warning_or_raised(tmp_path, writer):
    from sfmm.datasets.transforms import LoadImageFromFileSafe
    path = str(tmp_path / 'broken.jpg')
    writer(path)
    with pytest.warns(UserWarning, match='broken.jpg'):
        assert LoadImageFromFileSafe()(dict(img_path=path)) is None
    with pytest.raises(RuntimeError, match='broken.jpg'):
        LoadImageFromFileSafe(fail_on_error=True)(dict(img_path=path))


def test_missing_file_raises_naming_path(tmp_path):
    from sfmm.datasets.transforms import LoadImageFromFileSafe
    path = str(tmp_path / 'nowhere.jpg')
    for flag in (False, True):
        with pytest.raises(FileNotFoundError, match='nowhere.jpg'):
            LoadImageFromFileSafe(fail_on_error=flag)(dict(img_path=path))
    with pytest.warns(UserWarning, match='nowhere.jpg'):
        assert LoadImageFromFileSafe(ignore_empty=True)(dict(img_path=path)) is None


# ---------------------------------------------- skip in training, fail in test mode
def test_custom_dataset_skips_broken_in_training(tmp_path):
    root = str(tmp_path / 'custom')
    bad = _custom_folder(root)
    ds = _build('mmpretrain', dict(type='CustomDataset', data_root=root,
                                   pipeline=CLS_PIPELINE))
    assert len(ds) == 8
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        samples = [ds[i] for i in range(len(ds))]
    seen = {s['data_samples'].img_path for s in samples}
    assert not seen & set(bad)  # re-fetched good samples instead
    assert all(tuple(s['inputs'].shape) == (3, 32, 32) for s in samples)
    messages = ' '.join(str(w.message) for w in caught)
    assert all(osp.basename(p) in messages for p in bad)


def test_custom_dataset_test_mode_never_drops(tmp_path):
    root = str(tmp_path / 'custom')
    bad = _custom_folder(root)
    cfg = dict(type='CustomDataset', data_root=root, test_mode=True, pipeline=CLS_PIPELINE)
    ds = _build('mmpretrain', cfg)
    idx = _index_of(ds, bad[0])
    # default flag: mmengine raises in test mode (its message lacks the file, the warning has it)
    with pytest.warns(UserWarning, match='trunc.jpg'), pytest.raises(Exception, match='None'):
        ds[idx]
    ds = _build('mmpretrain', dict(cfg, pipeline=_with_error_flag(CLS_PIPELINE, True)))
    for path in bad:
        with pytest.raises(RuntimeError, match=osp.basename(path)):
            ds[_index_of(ds, path)]


@pytest.mark.parametrize('test_mode', [False, True])
def test_imagenet_with_broken_files(tmp_path, test_mode):
    from mmengine.runner import Runner
    root = write_tiny_imagenet(str(tmp_path / 'imagenet'), splits=('val', ))
    trunc = osp.join(root, 'val', 'a', 'val_1.png')  # listed in meta/val.txt
    _write_truncated_jpeg(trunc)
    cfg = dict(type='ImageNet', data_root=root, split='val', test_mode=test_mode,
               pipeline=_with_error_flag(CLS_PIPELINE, test_mode))
    ds = _build('mmpretrain', cfg)
    assert len(ds) == 8
    idx = _index_of(ds, trunc)
    if test_mode:
        with pytest.raises(RuntimeError, match='val_1.png'):
            ds[idx]
        return
    with pytest.warns(UserWarning, match='val_1.png'):
        assert ds[idx]['data_samples'].img_path != trunc
    # a whole epoch through mmengine's dataloader: every batch is full and clean
    init_default_scope('mmpretrain')
    loader = Runner.build_dataloader(dict(
        batch_size=4, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(type='sfmm.CheckedDataset', dataset=cfg)))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        batches = list(loader)
    assert [len(b['inputs']) for b in batches] == [4, 4]
    assert trunc not in {s.img_path for b in batches for s in b['data_samples']}


@pytest.mark.parametrize('test_mode', [False, True])
def test_ade20k_with_broken_files(tmp_path, test_mode):
    root = str(tmp_path / 'ade')
    paths = _ade_folder(root)
    _write_text_as_image(paths[1])
    cfg = dict(type='ADE20KDataset', data_root=root, data_prefix=ADE_PREFIX,
               test_mode=test_mode, pipeline=_with_error_flag(SEG_PIPELINE, test_mode))
    ds = _build('mmseg', cfg)
    idx = _index_of(ds, paths[1])
    if test_mode:
        with pytest.raises(RuntimeError, match='ADE_val_1.jpg'):
            ds[idx]
    else:
        with pytest.warns(UserWarning, match='ADE_val_1.jpg'):
            out = ds[idx]
        assert out['data_samples'].img_path != paths[1]
        assert out['data_samples'].gt_sem_seg.shape == (24, 32)


# ------------------------------------------------- missing / empty folders and files
@pytest.mark.parametrize('kind', ['custom', 'imagenet', 'ade20k'])
def test_missing_folder_named(tmp_path, kind):
    missing = str(tmp_path / 'no_such_dir')
    inner = dict(custom=dict(type='CustomDataset', data_root=missing, pipeline=[]),
                 imagenet=dict(type='ImageNet', data_root=missing, split='val', pipeline=[]),
                 ade20k=dict(type='ADE20KDataset', data_root=missing, data_prefix=ADE_PREFIX,
                             pipeline=[]))[kind]
    scope = 'mmseg' if kind == 'ade20k' else 'mmpretrain'
    with pytest.raises(FileNotFoundError, match='no_such_dir'):
        _build(scope, dict(type='sfmm.CheckedDataset', dataset=inner))


@pytest.mark.parametrize('kind', ['custom', 'imagenet', 'ade20k'])
def test_empty_folder_named(tmp_path, kind):
    root = str(tmp_path / 'empty_root')
    if kind == 'ade20k':
        for sub in ADE_PREFIX.values():
            os.makedirs(osp.join(root, sub))
        inner = dict(type='ADE20KDataset', data_root=root, data_prefix=ADE_PREFIX,
                     pipeline=[])
    else:
        os.makedirs(osp.join(root, 'some_class'))  # folders but no files
        inner = dict(type='CustomDataset' if kind == 'custom' else 'ImageNet',
                     data_root=root, pipeline=[])
    scope = 'mmseg' if kind == 'ade20k' else 'mmpretrain'
    with pytest.raises(RuntimeError, match='empty_root.*is empty'):
        _build(scope, dict(type='sfmm.CheckedDataset', dataset=inner))


def test_ann_file_listing_missing_images(tmp_path):
    root = write_tiny_imagenet(str(tmp_path / 'imagenet'), splits=('val', ))
    with open(osp.join(root, 'meta', 'val.txt'), 'a') as f:
        f.write('a/ghost_0.png 0\nb/ghost_1.png 1\n')
    cfg = dict(type='ImageNet', data_root=root, split='val',
               pipeline=_with_error_flag(CLS_PIPELINE, True))
    with pytest.raises(FileNotFoundError) as info:
        _build('mmpretrain', dict(type='sfmm.CheckedDataset', dataset=cfg))
    msg = str(info.value)
    assert msg.startswith('2 file(s)') and 'ghost_0.png' in msg and 'ghost_1.png' in msg
    assert 'val.txt' in msg  # names the ann file too
    # unchecked, the host dataset builds; loading the entry then names the path
    ds = _build('mmpretrain', cfg)
    with pytest.raises(FileNotFoundError, match='ghost_0.png'):
        ds[_index_of(ds, osp.join(root, 'val', 'a', 'ghost_0.png'))]


def test_ade20k_image_without_annotation(tmp_path):
    root = str(tmp_path / 'ade')
    _ade_folder(root)
    os.remove(osp.join(root, ADE_PREFIX['seg_map_path'], 'ADE_val_2.png'))
    with pytest.raises(FileNotFoundError, match='ADE_val_2.png'):
        _build('mmseg', dict(type='sfmm.CheckedDataset', dataset=dict(
            type='ADE20KDataset', data_root=root, data_prefix=ADE_PREFIX, pipeline=[])))


def test_checked_dataset_is_transparent(tmp_path):
    root = str(tmp_path / 'ade')
    _ade_folder(root)
    cfg = dict(type='ADE20KDataset', data_root=root, data_prefix=ADE_PREFIX,
               pipeline=SEG_PIPELINE)
    plain = _build('mmseg', cfg)
    checked = _build('mmseg', dict(type='sfmm.CheckedDataset', dataset=cfg))
    assert len(checked) == len(plain) == 3
    assert checked.metainfo['classes'] == plain.metainfo['classes']
    assert checked.get_data_info(1) == plain.get_data_info(1)
    assert checked.reduce_zero_label is True  # attributes are forwarded
    out = checked[0]
    assert out['data_samples'].gt_sem_seg.shape == (24, 32)
    clone = pickle.loads(pickle.dumps(checked))  # dataloader workers pickle it
    assert len(clone) == 3 and clone.metainfo == checked.metainfo


def test_checked_dataset_in_a_base_config_keeps_leaf_overrides(tmp_path):
    from mmengine.config import Config
    root = write_tiny_imagenet(str(tmp_path / 'imagenet'), splits=('val', ))
    base = tmp_path / 'base.py'
    base.write_text(
        'val_dataloader = dict(dataset=dict(type="sfmm.CheckedDataset", dataset=dict('
        f'type="ImageNet", data_root={root!r}, split="val", pipeline=[])))\n')
    leaf = tmp_path / 'leaf.py'
    leaf.write_text('_base_ = "./base.py"\n'
                    f'val_dataloader = dict(dataset=dict(pipeline={CLS_PIPELINE!r}))\n')
    ds = _build('mmpretrain', Config.fromfile(str(leaf)).val_dataloader['dataset'])
    assert tuple(ds[0]['inputs'].shape) == (3, 32, 32)  # the leaf's pipeline ran
