"""Tests for the procedural demo-scene generator and the layouts it writes."""
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from sfmm.datasets.procedural_scenes import ProceduralScenes


def _small(**kwargs) -> ProceduralScenes:
    kwargs.setdefault('classes', ('circle', 'ring', 'square', 'cross'))
    kwargs.setdefault('img_size', 32)
    return ProceduralScenes(**kwargs)


def test_scene_is_deterministic_and_order_independent():
    gen = _small(seed=3)
    a = [gen.scene('in', 'train', i) for i in range(3)]
    b = [_small(seed=3).scene('in', 'train', i) for i in reversed(range(3))][::-1]
    for (ia, ma, la), (ib, mb, lb) in zip(a, b):
        assert np.array_equal(ia, ib) and np.array_equal(ma, mb) and la == lb
    other = _small(seed=4).scene('in', 'train', 0)[0]
    assert not np.array_equal(a[0][0], other)
    # train and val scenes differ for the same index
    assert not np.array_equal(a[0][0], gen.scene('in', 'val', 0)[0])


@pytest.mark.parametrize('layout', ['in', 'ade'])
def test_masks_match_labels(layout):
    gen = _small(img_size=48)
    for i in range(12):
        img, mask, labels = gen.scene(layout, 'train', i)
        assert img.shape == (48, 48, 3) and img.dtype == np.uint8
        assert mask.shape == (48, 48) and mask.dtype == np.uint8
        present = set(np.unique(mask).tolist()) - {0}
        assert present <= {lab + 1 for lab in labels}
        assert 0 in np.unique(mask)  # objects never fill the whole scene
        if layout == 'in':
            assert labels == [i % gen.num_classes]
            assert present == {labels[0] + 1}
            assert (mask > 0).mean() > 0.02
        else:
            assert 1 <= len(labels) <= 3 and len(set(labels)) == len(labels)
        # the object is visible: its pixels differ from the background around it
        fg, bg = img[mask > 0].mean(0), img[mask == 0].mean(0)
        assert np.abs(fg - bg).sum() > 10 or layout == 'ade'


def test_shapes_differ_in_their_masks():
    gen = ProceduralScenes(img_size=64)
    areas = {}
    for k, name in enumerate(gen.classes):
        rng = np.random.default_rng(0)
        _, mask = gen.render(rng, [k])
        areas[name] = (mask > 0).sum()
    # same seed -> same radius; a ring covers less than a circle, a bar less than a square
    assert areas['ring'] < areas['circle']
    assert areas['bar'] < areas['square']
    assert len(set(areas.values())) == len(areas)


def test_rejects_unknown_classes():
    with pytest.raises(ValueError):
        ProceduralScenes(classes=('circle', 'hexagon'))
    with pytest.raises(ValueError):
        ProceduralScenes(classes=('circle', 'circle'))


def test_imagenet_layout_and_idempotence(tmp_path):
    gen = _small()
    root = str(tmp_path / 'demo_in')
    assert gen.write_imagenet(root, num_train=8, num_val=4)
    lines = open(osp.join(root, 'meta', 'train.txt')).read().splitlines()
    assert len(lines) == 8
    for line in lines:
        rel, label = line.split()
        assert rel.split('/')[0] == gen.classes[int(label)]
        assert Image.open(osp.join(root, 'train', rel)).size == (32, 32)
    assert len(open(osp.join(root, 'meta', 'val.txt')).read().splitlines()) == 4
    mtime = os.path.getmtime(osp.join(root, 'train', lines[0].split()[0]))
    assert not gen.write_imagenet(root, num_train=8, num_val=4)  # complete -> skipped
    assert os.path.getmtime(osp.join(root, 'train', lines[0].split()[0])) == mtime
    # other settings -> rewritten, with no stale files left over
    assert gen.write_imagenet(root, num_train=4, num_val=4)
    files = [f for _, _, fs in os.walk(osp.join(root, 'train')) for f in fs]
    assert len(files) == 4


def test_ade20k_layout(tmp_path):
    gen = _small()
    root = str(tmp_path / 'demo_ade')
    assert gen.write_ade20k(root, num_train=3, num_val=2)
    imgs = sorted(os.listdir(osp.join(root, 'images', 'validation')))
    anns = sorted(os.listdir(osp.join(root, 'annotations', 'validation')))
    assert imgs == ['demo_00000.jpg', 'demo_00001.jpg']
    assert anns == ['demo_00000.png', 'demo_00001.png']
    ann = np.asarray(Image.open(osp.join(root, 'annotations', 'validation', anns[0])))
    _, mask, _ = gen.scene('ade', 'val', 0)
    assert np.array_equal(ann, mask)  # PNG annotations are lossless
    assert not gen.write_ade20k(root, num_train=3, num_val=2)


def test_mmpretrain_reads_imagenet_layout(tmp_path):
    pytest.importorskip('mmpretrain')
    from mmpretrain.datasets import CustomDataset, ImageNet

    gen = _small()
    root = str(tmp_path / 'demo_in')
    gen.write_imagenet(root, num_train=8, num_val=4)
    pipeline = [dict(type='LoadImageFromFile'), dict(type='mmpretrain.PackInputs')]
    ds = CustomDataset(data_root=root, ann_file='meta/train.txt', data_prefix='train',
                       metainfo=dict(classes=gen.classes), pipeline=pipeline)
    assert len(ds) == 8 and ds.CLASSES == gen.classes
    item = ds[5]
    assert tuple(item['inputs'].shape) == (3, 32, 32)
    assert int(item['data_samples'].gt_label) == 5 % gen.num_classes
    # the folder layout alone (no ann file) gives the same labels
    folder = CustomDataset(data_root=root, data_prefix='val', with_label=True)
    assert sorted(folder.CLASSES) == sorted(gen.classes)
    inet = ImageNet(data_root=root, split='val', metainfo=dict(classes=gen.classes))
    assert len(inet) == 4
    assert [inet.get_gt_labels()[i] for i in range(4)] == [i % 4 for i in range(4)]


def test_mmseg_reads_ade20k_layout(tmp_path):
    pytest.importorskip('mmseg')
    from mmseg.datasets import ADE20KDataset, BaseSegDataset

    gen = _small()
    root = str(tmp_path / 'demo_ade')
    gen.write_ade20k(root, num_train=3, num_val=2)
    pipeline = [dict(type='LoadImageFromFile'), dict(type='mmseg.LoadAnnotations',
                                                     reduce_zero_label=True)]
    prefix = dict(img_path='images/validation', seg_map_path='annotations/validation')
    ade = ADE20KDataset(data_root=root, data_prefix=prefix, pipeline=pipeline)
    assert len(ade) == 2
    ours = BaseSegDataset(data_root=root, data_prefix=prefix, img_suffix='.jpg',
                          seg_map_suffix='.png', reduce_zero_label=True, pipeline=pipeline,
                          metainfo=dict(classes=gen.classes))
    item = ours[0]
    _, mask, labels = gen.scene('ade', 'val', 0)
    seg = item['gt_seg_map']
    assert np.array_equal(seg == 255, mask == 0)  # background ignored
    assert set(np.unique(seg).tolist()) - {255} <= set(labels)
    assert np.array_equal(seg[mask > 0], mask[mask > 0] - 1)
