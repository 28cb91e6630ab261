"""sfmm.Runner: load_from / --resume are strict and read through sfmm.weights."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from conftest import REPO_ROOT, write_tiny_imagenet

TINY_SF = osp.join(REPO_ROOT, 'tests/data/configs/tiny_sf_classifier.py')


def _runner(tmp_path, **overrides):
    from sfmm.utils.runner import build_runner
    cfg = Config.fromfile(TINY_SF)
    data_root = write_tiny_imagenet(str(tmp_path / 'data'), per_class=1)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = data_root
    cfg.merge_from_dict(dict(runner_type='sfmm.Runner', work_dir=str(tmp_path / 'work'),
                             log_level='ERROR', **overrides))
    return build_runner(cfg)


def test_load_from_is_strict_and_names_the_file(tmp_path):
    from sfmm.engine.runner import Runner
    runner = _runner(tmp_path)
    assert isinstance(runner, Runner)
    state = {k: v.clone() for k, v in runner.model.state_dict().items()}
    good = str(tmp_path / 'good.pth')
    torch.save(dict(state_dict={'module.' + k: v + 1 for k, v in state.items()}, meta={}), good)
    ckpt = runner.load_checkpoint(good)
    assert 'meta' in ckpt
    for k, v in state.items():
        assert torch.equal(runner.model.state_dict()[k], v + 1)

    bad = str(tmp_path / 'bad.pth')
    torch.save(dict(state_dict=dict(state, **{'backbone.extra': torch.zeros(1)})), bad)
    with pytest.raises(KeyError, match=r"bad\.pth.*unexpected keys \['backbone\.extra'\]"):
        runner.load_checkpoint(bad)
    partial = str(tmp_path / 'partial.pth')
    torch.save({k: v for k, v in state.items() if not k.startswith('head.')}, partial)
    with pytest.raises(KeyError, match=r"partial\.pth.*missing keys \['head\.fc\.weight'"):
        runner.load_checkpoint(partial)
    with pytest.raises(ValueError, match='strictly'):
        runner.load_checkpoint(good, strict=False)
    cut = tmp_path / 'cut.pth'
    cut.write_bytes(open(good, 'rb').read()[:100])
    with pytest.raises(RuntimeError, match=r'cut\.pth'):
        runner.load_checkpoint(str(cut))


def test_test_loop_loads_load_from_strictly(tmp_path):
    bad = str(tmp_path / 'bad.pth')
    torch.save({'backbone.nothing': torch.zeros(1)}, bad)
    runner = _runner(tmp_path, load_from=bad)
    with pytest.raises(KeyError, match=r'bad\.pth'):
        runner.test()
