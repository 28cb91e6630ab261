"""sfmm.EvalModelWrapper: the steps mmengine's and mmpretrain's loops call on a model wrapper.

The wrapper's ``_run_forward`` is an adapter for a private name that mmpretrain 1.2.0's
retrieval loops call on the wrapper; the contract tests below fail if mmpretrain stops calling
it or mmengine's DDP wrapper changes what it means, so that the adapter is revisited.
"""
import inspect

import pytest
import torch
from mmengine.model import BaseModel, MMDistributedDataParallel, is_model_wrapper

from sfmm.models.algorithms import EvalModelWrapper


class _Doubler(BaseModel):
    """A model whose forward records its mode and doubles its input."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = torch.nn.Parameter(torch.tensor(2.), requires_grad=False)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'tensor':
            return dict(feats=inputs * self.scale)
        if mode == 'predict':
            return [dict(pred=x * self.scale) for x in inputs]
        raise RuntimeError(f'unexpected mode {mode}')


def test_is_a_registered_model_wrapper():
    from mmengine.registry import MODEL_WRAPPERS
    wrapper = MODEL_WRAPPERS.build(dict(type='sfmm.EvalModelWrapper', module=_Doubler(),
                                        device_ids=[0], find_unused_parameters=True))
    assert isinstance(wrapper, EvalModelWrapper) and is_model_wrapper(wrapper)


def test_run_forward_matches_the_model_own_unpacking():
    model = _Doubler()
    wrapper = EvalModelWrapper(model)
    x = torch.arange(4.).view(2, 2)
    for data in (dict(inputs=x), (x, )):
        ours = wrapper._run_forward(data, mode='tensor')
        theirs = model._run_forward(data, mode='tensor')  # mmengine's BaseModel, as reference
        assert torch.equal(ours['feats'], theirs['feats'])
        assert torch.equal(ours['feats'], 2 * x)
    with pytest.raises(TypeError, match='dict, tuple or list'):
        wrapper._run_forward(x, mode='tensor')
    assert torch.equal(wrapper(x)['feats'], 2 * x)


def test_val_and_test_steps_delegate_and_training_is_refused():
    model = _Doubler()
    wrapper = EvalModelWrapper(model)
    data = dict(inputs=[torch.ones(3)], data_samples=None)
    assert torch.equal(wrapper.test_step(data)[0]['pred'], 2 * torch.ones(3))
    assert torch.equal(wrapper.val_step(data)[0]['pred'], 2 * torch.ones(3))
    with pytest.raises(RuntimeError, match='for evaluation'):
        wrapper.train_step(data, optim_wrapper=None)


def test_mmpretrain_retrieval_loops_call_run_forward_on_the_wrapper():
    """mmpretrain 1.2.0 calls ``runner.model._run_forward(data, mode='tensor')``. If this
    fails, mmpretrain changed how its retrieval loops run a wrapped model: update or drop
    EvalModelWrapper._run_forward."""
    from mmpretrain.engine.runners import RetrievalTestLoop, RetrievalValLoop
    for loop in (RetrievalValLoop, RetrievalTestLoop):
        source = inspect.getsource(loop.run)
        assert 'self.runner.model._run_forward(' in source, loop.__name__
        assert "mode='tensor'" in source, loop.__name__


def test_mmengine_ddp_wrapper_defines_the_mirrored_contract():
    """EvalModelWrapper._run_forward mirrors MMDistributedDataParallel._run_forward (mmengine
    0.10.7): same parameters, and the data are unpacked into the wrapper's own call."""
    params = list(inspect.signature(MMDistributedDataParallel._run_forward).parameters)
    assert params == ['self', 'data', 'mode']
    assert list(inspect.signature(EvalModelWrapper._run_forward).parameters) == params
    source = inspect.getsource(MMDistributedDataParallel._run_forward)
    assert 'self(**data, mode=mode)' in source and 'self(*data, mode=mode)' in source
