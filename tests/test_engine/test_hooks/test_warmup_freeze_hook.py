"""WarmupFreezeHook: frozen during the warm-up, released at the right epoch, also after resume."""
import uuid

import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner

import sfmm.engine  # noqa: F401  (registers sfmm hooks and constructors)


class ToyBootstrapModel(BaseModel):
    """A 'focusing' layer trained from scratch and an 'inherited' block."""

    def __init__(self) -> None:
        super().__init__()
        self.focus = nn.Linear(4, 4)
        self.block = nn.Linear(4, 4)

    def inherited_tunable_names(self):
        return ['block.weight', 'block.bias']

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.block(self.focus(inputs))
        return dict(loss=(out - 1).pow(2).mean()) if mode == 'loss' else out


class Recorder(Hook):
    """Records, per epoch / iteration, whether the block trains and whether it changed."""

    priority = 'LOWEST'  # after WarmupFreezeHook

    def __init__(self) -> None:
        self.epochs, self.iters, self.changed = [], [], {}

    def before_train_epoch(self, runner) -> None:
        model = runner.model
        self.epochs.append((runner.epoch, model.block.weight.requires_grad))
        self._before = (model.block.weight.clone(), model.focus.weight.clone())

    def after_train_epoch(self, runner) -> None:
        model = runner.model
        self.changed[runner.epoch] = (  # the epoch counter moves on after this hook
            not torch.equal(self._before[0], model.block.weight),
            not torch.equal(self._before[1], model.focus.weight))

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        self.iters.append((runner.iter, runner.model.block.weight.requires_grad))


def _runner(tmp_path, recorder, train_cfg, freeze_cfg, **kw):
    data = [dict(inputs=torch.randn(4)) for _ in range(4)]
    return Runner(
        model=ToyBootstrapModel(), work_dir=str(tmp_path),
        experiment_name=f'freeze_{uuid.uuid4().hex}',
        train_dataloader=dict(dataset=data, batch_size=2, collate_fn=dict(type='default_collate'),
                              sampler=dict(type='DefaultSampler', shuffle=False)),
        train_cfg=train_cfg,
        optim_wrapper=dict(constructor='sfmm.BootstrapOptimWrapperConstructor',
                           optimizer=dict(type='SGD', lr=0.1)),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1), logger=None),
        custom_hooks=[dict(type='sfmm.CheckpointCompatHook'), freeze_cfg, recorder], **kw)


def test_released_after_first_epoch_and_after_resume(tmp_path):
    rec = Recorder()
    freeze = dict(type='sfmm.WarmupFreezeHook', unfreeze_at=1)
    _runner(tmp_path, rec, dict(by_epoch=True, max_epochs=2), freeze).train()
    assert rec.epochs == [(0, False), (1, True)]
    assert rec.changed[0] == (False, True)  # warm-up: focusing part trains, block does not
    assert rec.changed[1] == (True, True)

    # resume from the end of epoch 0: the first epoch run (epoch 1) must train the block
    rec2 = Recorder()
    runner = _runner(tmp_path, rec2, dict(by_epoch=True, max_epochs=3), freeze,
                     load_from=str(tmp_path / 'epoch_1.pth'), resume=True)
    runner.train()
    assert rec2.epochs == [(1, True), (2, True)]

    # resume inside the warm-up (unfreeze at epoch 2): still frozen in epoch 1
    rec3 = Recorder()
    runner = _runner(tmp_path, rec3, dict(by_epoch=True, max_epochs=3),
                     dict(type='sfmm.WarmupFreezeHook', unfreeze_at=2),
                     load_from=str(tmp_path / 'epoch_1.pth'), resume=True)
    runner.train()
    assert rec3.epochs == [(1, False), (2, True)]


def test_iteration_based(tmp_path):
    rec = Recorder()
    _runner(tmp_path, rec, dict(by_epoch=False, max_iters=4),
            dict(type='sfmm.WarmupFreezeHook', unfreeze_at=2, by_epoch=False)).train()
    assert rec.iters == [(0, False), (1, False), (2, True), (3, True)]
