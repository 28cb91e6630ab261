"""tools/visualization/vis_rois.py and tools/analysis_tools/analyze_logs.py on real runs."""
import glob
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import REPO_ROOT, load_tool, write_tiny_imagenet

vis_rois = load_tool('tools/visualization/vis_rois.py')
analyze_logs = load_tool('tools/analysis_tools/analyze_logs.py')
train_tool = load_tool('tools/train.py')
SF_CFG = osp.join(REPO_ROOT, 'tests/data/configs/tiny_sf_classifier.py')
TINY_CFG = osp.join(REPO_ROOT, 'tests/data/configs/tiny_classifier.py')


def _not_blank(path, min_std=10.0):
    img = np.asarray(Image.open(path).convert('RGB'), dtype=np.float32)
    assert img.shape[0] > 100 and img.shape[1] > 100
    assert img.std() > min_std, f'{path} looks blank'
    return img


def test_vis_rois_writes_pictures(tmp_path):
    from sfmm.apis import init_model
    model = init_model(SF_CFG)
    ckpt = str(tmp_path / 'sf.pth')
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    images = []
    for i, size in enumerate([(40, 40), (30, 80)]):
        path = str(tmp_path / f'img{i}.jpg')
        Image.fromarray(np.random.default_rng(i).integers(0, 255, (*size, 3), np.uint8)).save(path)
        images.append(path)
    written = vis_rois.main([SF_CFG, ckpt, *images, '--out', str(tmp_path / 'vis')])
    assert [osp.basename(p) for p in written] == ['img0_rois.png', 'img1_rois.png']
    for path in written:
        _not_blank(path)
    with pytest.raises(ValueError, match='step 9'):
        vis_rois.main([SF_CFG, ckpt, images[0], '--out', str(tmp_path / 'v2'), '--steps', '9'])


def test_drawn_rois_change_with_rois(tmp_path):
    from sfmm.visualization import draw_rois_and_points
    image = np.full((32, 32, 3), 128, np.uint8)
    points = np.full((2, 4, 2), 0.5)
    small = np.tile(np.array([0.4, 0.4, 0.6, 0.6]), (3, 2, 1))
    big = np.tile(np.array([0.05, 0.05, 0.95, 0.95]), (3, 2, 1))
    a = _not_blank(draw_rois_and_points(image, small, points, str(tmp_path / 'a.png')), 1.0)
    b = _not_blank(draw_rois_and_points(image, big, points, str(tmp_path / 'b.png')), 1.0)
    assert np.abs(a - b).mean() > 0.5


def test_analyze_logs_plots_a_real_run(tmp_path):
    data = write_tiny_imagenet(str(tmp_path / 'data'))
    wd = str(tmp_path / 'wd')
    train_tool.main([TINY_CFG, '--work-dir', wd, '--cfg-options',
                     f'train_dataloader.dataset.data_root={data}',
                     f'val_dataloader.dataset.data_root={data}',
                     f'test_dataloader.dataset.data_root={data}'])
    (log, ) = [p for p in glob.glob(osp.join(wd, '*', 'vis_data', '*.json'))
               if not p.endswith('scalars.json')]
    curves = analyze_logs.load_json_log(log)
    assert len(curves['loss']) == 4 and len(curves['accuracy/top1']) == 2
    out = analyze_logs.main([log, '--keys', 'loss', 'lr', 'accuracy/top1',
                             '--out', str(tmp_path / 'curves.png')])
    _not_blank(out, 5.0)
    with pytest.raises(KeyError, match='nope'):
        analyze_logs.main([log, '--keys', 'nope', '--out', str(tmp_path / 'x.png')])
