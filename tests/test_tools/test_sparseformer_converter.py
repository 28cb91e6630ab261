"""Tests of the released-SparseFormer checkpoint converter (function and CLI)."""
import importlib.util
import os.path as osp

import pytest
import torch

from conftest import REPO_ROOT, load_tool
from sfmm.models.backbones import SparseFormer
from sfmm.models.utils import (convert_sparseformer_official, is_sparseformer_official,
                               official_key_map)

tool = load_tool('tools/model_converters/sparseformer_official.py')


def _reference():
    path = osp.join(REPO_ROOT, 'tests', 'reference', 'released_sparseformer.py')
    spec = importlib.util.spec_from_file_location('released_sparseformer', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _released(proj_bias=True):
    return _reference().random_released_state_dict(num_cortex=3, proj_bias=proj_bias)


def _model(proj_bias=True):
    arch = dict(focus_dims=64, embed_dims=128, num_layers=3, num_heads=2,
                proj_dims=None if proj_bias else 10)
    return SparseFormer(arch, num_latent_tokens=5, num_points=4, conv_channels=8,
                        focus_repeats=2)


@pytest.mark.parametrize('proj_bias', [True, False])
def test_every_key_mapped_and_loadable(proj_bias):
    sd = _released(proj_bias)
    out = convert_sparseformer_official(sd)
    assert len(out) == len(sd)
    model = _model(proj_bias)
    backbone = {k[9:]: v for k, v in out.items() if k.startswith('backbone.')}
    model.load_state_dict(backbone, strict=True)  # nothing missing, nothing extra
    head = {k: v for k, v in out.items() if not k.startswith('backbone.')}
    if proj_bias:
        assert set(head) == {'head.fc.weight', 'head.fc.bias'}
        assert head['head.fc.weight'] is sd['proj.weight']
    else:
        assert head == {}
        assert out['backbone.proj.weight'] is sd['proj.weight']
    assert out['backbone.blocks.2.mlp.fc1.weight'] is sd['layers.5.mlp.fc1.weight']
    assert out['backbone.final.sampling.offset_bias'] is sd['layers.2.roi_offset_bias']
    assert out['backbone.focus.roi_adjust.fc2.weight'] is sd['layers.0.roi_adjust_module.3.weight']
    assert out['backbone.transition.weight'] is sd['layers.1.0.weight']


def test_unwraps_model_and_detects_layout():
    sd = _released()
    assert is_sparseformer_official({'model': sd}) and is_sparseformer_official(sd)
    assert not is_sparseformer_official(_model().state_dict())
    assert set(convert_sparseformer_official({'model': sd})) == set(
        convert_sparseformer_official(sd))


def test_extra_key_is_listed():
    sd = _released()
    sd['layers.0.some_new_thing.weight'] = torch.zeros(1)
    with pytest.raises(KeyError, match='layers.0.some_new_thing.weight'):
        convert_sparseformer_official(sd)


def test_missing_key_is_listed():
    sd = _released()
    del sd['layers.2.pe_transition.1.bias']
    with pytest.raises(KeyError, match=r'layers\.2\.pe_transition\.1\.bias'):
        convert_sparseformer_official(sd)


def test_key_map_is_one_to_one():
    mapping = official_key_map(8)
    assert len(set(mapping.values())) == len(mapping)
    with torch.device('meta'):
        model_keys = {f'backbone.{k}' for k in SparseFormer('b-augreg').state_dict()}
    assert set(mapping.values()) == model_keys | {'head.fc.weight', 'head.fc.bias'}
    with pytest.raises(ValueError):
        official_key_map(8, proj_as='neck')


def test_cli_round_trip(tmp_path):
    sd = _released()
    src, dst = str(tmp_path / 'released.pth'), str(tmp_path / 'out' / 'sfmm.pth')
    torch.save({'model': sd}, src)
    n = tool.convert(src, dst)
    assert n == len(sd)
    ckpt = torch.load(dst, weights_only=True)
    model = _model()
    model.load_state_dict({k[9:]: v for k, v in ckpt['state_dict'].items()
                           if k.startswith('backbone.')}, strict=True)
    torch.testing.assert_close(ckpt['state_dict']['head.fc.bias'], sd['proj.bias'])


def test_cli_reports_bad_checkpoint(tmp_path):
    sd = _released()
    del sd['initial_roi.weight']
    src = str(tmp_path / 'bad.pth')
    torch.save(sd, src)
    with pytest.raises(KeyError, match='initial_roi.weight'):
        tool.main([src, str(tmp_path / 'o.pth')])
    assert not osp.exists(tmp_path / 'o.pth')
