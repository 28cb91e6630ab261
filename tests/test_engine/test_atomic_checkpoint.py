"""The atomic checkpoint backend and NonFiniteLossHook in real mmengine runs."""
import os

import pytest
import torch
import torch.nn as nn
from mmengine.fileio import get_file_backend
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

import sfmm.engine  # noqa: F401  (registers the backend and hooks)
from sfmm.engine.fileio import AtomicLocalBackend


class _ToyModel(BaseModel):

    def __init__(self, nan_at: int = 0):
        super().__init__()
        self.fc = nn.Linear(2, 1)
        self.nan_at = nan_at
        self.calls = 0

    def forward(self, inputs, data_samples=None, mode='tensor'):
        x = torch.stack(inputs) if isinstance(inputs, list) else inputs
        out = self.fc(x)
        if mode == 'loss':
            self.calls += 1
            loss = out.pow(2).mean()
            if self.calls == self.nan_at:
                loss = loss * float('nan')
            return dict(loss=loss)
        return out


class _ToyData(Dataset):

    def __len__(self):
        return 8

    def __getitem__(self, i):
        return dict(inputs=torch.full((2, ), float(i)))


def _runner(work_dir, model, hooks=None, backend_args=None):
    return Runner(
        model=model, work_dir=str(work_dir),
        train_dataloader=dict(dataset=_ToyData(), batch_size=2,
                              sampler=dict(type='DefaultSampler', shuffle=False),
                              collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=False, max_iters=4),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1, by_epoch=False,
                                           backend_args=backend_args)),
        custom_hooks=hooks, default_scope='mmengine')


def test_backend_is_selected_by_name():
    backend = get_file_backend('work_dirs/x.pth', backend_args=dict(backend='sfmm_atomic_local'))
    assert isinstance(backend, AtomicLocalBackend)


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    backend = AtomicLocalBackend()
    path = tmp_path / 'ckpt.pth'
    backend.put(b'old checkpoint', path)
    assert path.read_bytes() == b'old checkpoint'

    def crash(fd):
        raise OSError('disk died mid-save')

    monkeypatch.setattr(os, 'fsync', crash)
    with pytest.raises(OSError, match='mid-save'):
        backend.put(b'new, half written', path)
    with pytest.raises(OSError):
        backend.put_text('epoch_2.pth', tmp_path / 'last_checkpoint')
    assert path.read_bytes() == b'old checkpoint'
    assert sorted(os.listdir(tmp_path)) == ['ckpt.pth']  # no temp files left behind


def test_checkpoint_hook_writes_through_atomic_backend(tmp_path):
    runner = _runner(tmp_path, _ToyModel(), backend_args=dict(backend='sfmm_atomic_local'))
    runner.train()
    assert (tmp_path / 'iter_4.pth').is_file()
    last = (tmp_path / 'last_checkpoint').read_text().strip()
    assert last.endswith('iter_4.pth')
    assert not [f for f in os.listdir(tmp_path) if f.endswith('.tmp')]


def test_non_finite_loss_stops_with_iteration_and_keeps_last_checkpoint(tmp_path):
    runner = _runner(tmp_path, _ToyModel(nan_at=3),
                     hooks=[dict(type='sfmm.NonFiniteLossHook')])
    with pytest.raises(RuntimeError, match=r'non-finite loss at iteration 3 .*loss=nan'):
        runner.train()
    assert (tmp_path / 'iter_2.pth').is_file()
    assert not (tmp_path / 'iter_3.pth').exists()
