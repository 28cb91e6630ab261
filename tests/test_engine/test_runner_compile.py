"""sfmm.Runner with ``compile``: the model's forward is compiled, the rest of the step is eager.

mmengine 0.10.7 compiles the whole ``train_step``, which dynamo cannot trace in torch 2.14
(``OptimWrapper.update_params``). The tests use dynamo with the ``aot_eager`` backend (the
same graph capture and compiled autograd as inductor, without C++ code generation, so they
take seconds); inductor itself was run by hand on the demo config (configs/demo/README.md).
"""
import os.path as osp

import pytest
from mmengine.config import Config

from conftest import REPO_ROOT, write_tiny_imagenet

TINY_SF = osp.join(REPO_ROOT, 'tests/data/configs/tiny_sf_classifier.py')


def _train(tmp_path, name, **overrides):
    from sfmm.utils.runner import build_runner
    cfg = Config.fromfile(TINY_SF)
    data_root = write_tiny_imagenet(str(tmp_path / 'data'), per_class=2)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = data_root
    cfg.merge_from_dict(dict(runner_type='sfmm.Runner', work_dir=str(tmp_path / name),
                             log_level='ERROR', randomness=dict(seed=0),
                             train_cfg=dict(max_epochs=2, val_interval=10), **overrides))
    cfg.train_dataloader.shuffle = False
    cfg.train_dataloader.sampler = dict(type='DefaultSampler', shuffle=False)
    runner = build_runner(cfg)
    runner.train()
    return runner


def test_compile_compiles_the_forward_and_trains_like_eager(tmp_path):
    import torch._dynamo

    torch._dynamo.reset()
    eager = _train(tmp_path, 'eager')
    compiled = _train(tmp_path, 'compiled', compile=dict(backend='aot_eager'))
    model = compiled.model
    assert getattr(model, '_sfmm_compiled', False)
    # the instance forward is dynamo's wrapper around the class forward; train_step is not
    assert 'forward' in vars(model)
    assert getattr(model.forward, '_torchdynamo_orig_callable', None) is not None
    assert 'train_step' not in vars(model)
    assert 'forward' not in vars(eager.model)
    # same data, same seed: the compiled run ends with the eager run's weights
    for (name, a), b in zip(eager.model.state_dict().items(),
                            compiled.model.state_dict().values()):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-5), name
    # training moved the weights (so the comparison above is not trivially true)
    first = eager.model.backbone.init_rois.weight
    from sfmm.models.utils.weight_init import initial_roi_grid
    assert not torch.allclose(first, initial_roi_grid(first.shape[0]))
    # the checkpoint has the plain model's keys
    from sfmm.weights import read_checkpoint
    state = read_checkpoint(osp.join(tmp_path, 'compiled', 'epoch_2.pth'))
    assert set(state) == set(eager.model.state_dict())


def test_compile_option_type_is_checked(tmp_path):
    with pytest.raises(TypeError, match="compile must be a bool or a dict"):
        _train(tmp_path, 'bad', compile='yes')
