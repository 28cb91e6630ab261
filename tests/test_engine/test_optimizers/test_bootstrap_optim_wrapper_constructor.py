"""BootstrapOptimWrapperConstructor: frozen params left out, inherited params at a lower lr."""
import pytest
import torch.nn as nn
from mmengine.optim import build_optim_wrapper

import sfmm.engine  # noqa: F401  (registers the constructor)


class Toy(nn.Module):

    def __init__(self, inherited=('block.weight', 'block.bias')) -> None:
        super().__init__()
        self.focus = nn.Linear(4, 4)
        self.norm = nn.LayerNorm(4)
        self.block = nn.Linear(4, 4)
        self.frozen = nn.Linear(4, 4)
        self.frozen.requires_grad_(False)
        self._inherited = list(inherited)

    def inherited_tunable_names(self):
        return self._inherited


def _build(model, **paramwise):
    return build_optim_wrapper(model, dict(
        constructor='sfmm.BootstrapOptimWrapperConstructor',
        optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05), paramwise_cfg=paramwise))


def _groups(model, wrapper):
    names = {id(p): n for n, p in model.named_parameters()}
    return {names[id(p)]: g for g in wrapper.optimizer.param_groups for p in g['params']}


def test_frozen_out_inherited_low_lr_and_merged_groups():
    model = Toy()
    wrapper = _build(model, inherited_lr_mult=0.1, norm_decay_mult=0.,
                     custom_keys={'focus.bias': dict(lr_mult=2.)})
    groups = _groups(model, wrapper)
    assert set(groups) == {'focus.weight', 'focus.bias', 'norm.weight', 'norm.bias',
                           'block.weight', 'block.bias'}
    assert groups['block.weight']['lr'] == pytest.approx(1e-4)
    assert groups['focus.weight']['lr'] == pytest.approx(1e-3)
    assert groups['focus.bias']['lr'] == pytest.approx(2e-3)
    assert groups['norm.weight']['weight_decay'] == 0
    assert groups['block.weight']['weight_decay'] == pytest.approx(0.05)
    # identical options share a group: {focus.w}, {focus.b}, {norm.w, norm.b}, {block.w, block.b}
    assert len(wrapper.optimizer.param_groups) == 4


def test_default_multiplier_and_plain_models():
    model = Toy()
    assert _groups(model, _build(model))['block.bias']['lr'] == pytest.approx(1e-4)
    plain = nn.Sequential(nn.Linear(2, 2))  # no inherited_tunable_names(): all at base lr
    assert {g['lr'] for g in _build(plain).optimizer.param_groups} == {1e-3}


def test_unknown_inherited_name_is_an_error():
    with pytest.raises(KeyError, match='nope'):
        _build(Toy(inherited=('nope.weight', )))
