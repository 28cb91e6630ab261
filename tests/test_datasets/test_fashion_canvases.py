"""Fashion-MNIST canvases: seeded, independent of how many are written, extended on demand,
the item's box is where its pixels are, and the ImageNet layout mmpretrain reads."""
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from conftest import write_fake_fashion_mnist
from sfmm.datasets.fashion_canvases import FashionCanvases, read_boxes


@pytest.fixture
def fm_dir(tmp_path):
    folder = str(tmp_path / 'fm')
    return folder, write_fake_fashion_mnist(folder)


def test_canvas_box_holds_the_item(fm_dir):
    """Drawn with the same seed, the canvas with the item and the one with an empty item
    differ only inside the item's box, and on each of its edges."""
    folder, arrays = fm_dir
    gen = FashionCanvases(folder=folder, fragments=0)
    images = arrays['train'][0]
    for i in range(10):
        img, box, label = gen.canvas('train', i)
        assert img.shape == (64, 64, 3) and img.dtype == np.uint8
        assert label == int(arrays['train'][1][i])
        rng = np.random.default_rng([gen.seed, 0, i])
        empty, _ = gen.render(np.zeros_like(images[i]), images, rng)
        diff = np.abs(img.astype(int) - empty.astype(int)).max(-1)
        x0, y0, x1, y1 = box.astype(int)
        assert 0 <= x0 < x1 <= 64 and 0 <= y0 < y1 <= 64
        assert x1 - x0 <= gen.item_range[1] and y1 - y0 <= gen.item_range[1]
        outside = np.ones_like(diff, bool)
        outside[y0:y1, x0:x1] = False
        assert diff[outside].max() <= 0.1 * 255 + 1  # item alpha <= 0.1 outside its box
        for edge in (diff[y0, x0:x1], diff[y1 - 1, x0:x1], diff[y0:y1, x0], diff[y0:y1, x1 - 1]):
            assert edge.max() >= 1


def test_canvases_are_seeded_and_split_apart(fm_dir):
    folder, _ = fm_dir
    a, b = FashionCanvases(folder=folder), FashionCanvases(folder=folder)
    np.testing.assert_array_equal(a.canvas('val', 3)[0], b.canvas('val', 3)[0])
    assert not np.array_equal(a.canvas('val', 3)[0], a.canvas('val', 4)[0])
    assert not np.array_equal(a.canvas('val', 3)[0],
                              FashionCanvases(folder=folder, seed=1).canvas('val', 3)[0])


def test_write_extend_and_list_prefix(fm_dir, tmp_path):
    folder, arrays = fm_dir
    gen = FashionCanvases(folder=folder)
    root = str(tmp_path / 'canvas')
    assert gen.write_imagenet(root, 10, 5)
    lines = open(osp.join(root, 'meta', 'train.txt')).read().splitlines()
    assert len(lines) == 10
    rel, label = lines[3].split()
    assert int(label) == int(arrays['train'][1][3])
    img, box, _ = gen.canvas('train', 3)
    np.testing.assert_array_equal(np.asarray(Image.open(osp.join(root, 'train', rel))), img)
    np.testing.assert_array_equal(read_boxes(root, 'train')[3], box)
    # labels are not in the bootstrapping list
    assert open(osp.join(root, 'meta', 'train_images.txt')).read().splitlines()[3] == rel
    # asking for more writes only the new ones; asking for fewer lists a prefix
    mtime = osp.getmtime(osp.join(root, 'train', rel))
    assert gen.write_imagenet(root, 30, None)
    assert osp.getmtime(osp.join(root, 'train', rel)) == mtime
    assert len(read_boxes(root, 'train')) == 30 and len(read_boxes(root, 'val')) == 20
    assert not gen.write_imagenet(root, 12, 5)
    assert len(open(osp.join(root, 'meta', 'train.txt')).read().splitlines()) == 12
    np.testing.assert_array_equal(read_boxes(root, 'train')[11], gen.canvas('train', 11)[1])
    # a second listing (a teacher's whole split) lives beside the first, which it leaves alone
    assert gen.write_imagenet(root, None, None, list_suffix='_all')  # writes the last 10
    assert len(open(osp.join(root, 'meta', 'train_all.txt')).read().splitlines()) == 40
    assert len(read_boxes(root, 'train', '_all')) == 40
    assert len(open(osp.join(root, 'meta', 'train.txt')).read().splitlines()) == 12
    assert len(open(osp.join(root, 'meta', 'train_images.txt')).read().splitlines()) == 12
    # other settings rewrite the folder
    assert FashionCanvases(folder=folder, seed=5).write_imagenet(root, 4, 2)
    assert len(read_boxes(root, 'train')) == 4


def test_bad_requests_are_named(fm_dir, tmp_path):
    folder, _ = fm_dir
    with pytest.raises(ValueError, match='asked for 41 canvases, the split has 40'):
        FashionCanvases(folder=folder).write_imagenet(str(tmp_path / 'c'), 41)
    with pytest.raises(ValueError, match='item_range'):
        FashionCanvases(item_range=(30, 80))
    with pytest.raises(FileNotFoundError, match='val_boxes.txt'):
        read_boxes(str(tmp_path / 'nowhere'))
