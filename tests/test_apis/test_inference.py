"""sfmm.apis inference: strict checkpoint loading, inputs as paths and arrays, outputs."""
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import REPO_ROOT
from sfmm.apis import inference_model, init_model, to_uint8_rgb

CFG = osp.join(REPO_ROOT, 'tests/data/configs/tiny_sf_classifier.py')


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    model = init_model(CFG)
    path = str(tmp_path_factory.mktemp('ckpt') / 'tiny_sf.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict(epoch=1)), path)
    return path, model


def test_init_model_loads_strictly(checkpoint, tmp_path):
    path, ref = checkpoint
    model = init_model(CFG, path)
    for k, v in ref.state_dict().items():
        assert torch.equal(model.state_dict()[k], v)
    assert not model.training
    state = dict(ref.state_dict())
    state['backbone.unknown.weight'] = torch.zeros(1)
    bad = str(tmp_path / 'bad.pth')
    torch.save(state, bad)
    with pytest.raises(KeyError, match='backbone.unknown.weight'):
        init_model(CFG, bad)


def test_inference_on_paths_and_arrays(checkpoint, tmp_path):
    path, _ = checkpoint
    model = init_model(CFG, path)
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (40, 50, 3), dtype=np.uint8)
    file = str(tmp_path / 'img.png')
    Image.fromarray(rgb).save(file)
    res_path, res_arr = inference_model(model, [file, rgb])
    for res in (res_path, res_arr):
        assert res['pred_score'].shape == (2, )
        assert torch.isclose(res['pred_score'].sum(), torch.tensor(1.0))
        assert res['pred_label'] in (0, 1)
        assert res['embedding'].shape == (64, )
        assert res['rois'].shape == (5, 8, 4) and res['points'].shape == (8, 4, 2)
        assert res['input_image'].shape == (32, 32, 3)
    # a PNG read by the pipeline and the same pixels given as an RGB array agree
    torch.testing.assert_close(res_path['embedding'], res_arr['embedding'])
    np.testing.assert_array_equal(res_path['input_image'], res_arr['input_image'])


@pytest.mark.parametrize('shape,dtype', [((30, 40), np.uint8), ((30, 40, 4), np.uint8),
                                         ((30, 40, 3), np.uint16), ((30, 40, 2), np.uint8),
                                         ((30, 40, 3), np.float32)])
def test_array_layouts_are_accepted(checkpoint, shape, dtype):
    model = init_model(CFG, checkpoint[0])
    if dtype == np.float32:
        img = np.random.default_rng(0).random(shape, dtype=np.float32)
    else:
        img = np.random.default_rng(0).integers(0, np.iinfo(dtype).max, shape, dtype=dtype)
    (res, ) = inference_model(model, [img])
    assert torch.isfinite(res['embedding']).all()


def test_to_uint8_rgb_rules():
    gray16 = np.full((2, 2), 65535, dtype=np.uint16)
    assert to_uint8_rgb(gray16).tolist() == [[[255] * 3] * 2] * 2
    rgba = np.zeros((1, 1, 4), dtype=np.uint8)
    rgba[..., 0] = 7
    assert to_uint8_rgb(rgba).tolist() == [[[7, 0, 0]]]
    with pytest.raises(ValueError, match='5'):
        to_uint8_rgb(np.zeros((2, 2, 5), dtype=np.uint8))


def test_top_level_data_preprocessor_is_used(checkpoint):
    # tiny_classifier.py sets mean = std = 127.5 at the top level, as mmpretrain configs do
    model = init_model(CFG, checkpoint[0])
    assert model.data_preprocessor.mean.flatten().tolist() == [127.5] * 3
    assert model.data_preprocessor.std.flatten().tolist() == [127.5] * 3
    assert model.data_preprocessor.to_rgb
