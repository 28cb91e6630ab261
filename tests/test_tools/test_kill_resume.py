"""A run SIGKILLed mid-epoch and restarted with ``--resume`` ends with the same weights
as a run that was never interrupted."""
import os
import os.path as osp
import signal
import subprocess
import sys

import pytest
import torch

from conftest import REPO_ROOT, write_tiny_imagenet

TINY_CFG = osp.join(REPO_ROOT, 'tests/data/configs/tiny_classifier.py')


def _train(cfg, work_dir, opts, extra_env=None, resume=False):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env['PYTHONPATH'] = osp.join(REPO_ROOT, 'tests', 'data') + os.pathsep + env.get('PYTHONPATH', '')
    cmd = [sys.executable, osp.join(REPO_ROOT, 'tools/train.py'), cfg, '--work-dir', work_dir]
    if resume:
        cmd.append('--resume')
    cmd += ['--cfg-options', *opts]
    return subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


def _weights(path):
    from sfmm.utils import load_checkpoint_file
    return load_checkpoint_file(path)['state_dict']


@pytest.mark.parametrize('cfg,iters_per_epoch', [(TINY_CFG, 3)])
def test_sigkill_mid_epoch_then_resume_matches_uninterrupted(tmp_path, cfg, iters_per_epoch):
    data = write_tiny_imagenet(str(tmp_path / 'data'), per_class=6)
    opts = [f'train_dataloader.dataset.data_root={data}',
            f'val_dataloader.dataset.data_root={data}',
            f'test_dataloader.dataset.data_root={data}',
            'train_cfg.max_epochs=3', 'train_cfg.val_interval=10',
            'default_hooks.checkpoint.backend_args.backend=sfmm_atomic_local']
    ref = _train(cfg, str(tmp_path / 'ref'), opts)
    assert ref.returncode == 0, ref.stderr[-3000:]

    wd = str(tmp_path / 'killed')
    kill_at = iters_per_epoch + 2  # the second iteration of epoch 2
    kill_cfg = tmp_path / 'kill.py'
    kill_cfg.write_text(
        f"_base_ = [{cfg!r}]\n"
        "custom_imports = dict(imports=['sfmm.models', 'sfmm.engine', 'sigkill_hook'], "
        "allow_failed_imports=False)\n"
        "custom_hooks = [dict(type='sfmm.CheckpointCompatHook'), "
        f"dict(type='SigkillAtIterHook', at_iter={kill_at})]\n")
    killed = _train(str(kill_cfg), wd, opts)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert osp.isfile(osp.join(wd, 'epoch_1.pth'))
    assert not osp.exists(osp.join(wd, 'epoch_2.pth'))

    resumed = _train(cfg, wd, opts, resume=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert 'resumed epoch: 1' in (resumed.stdout + resumed.stderr).lower()

    ref_w, got_w = _weights(osp.join(tmp_path, 'ref', 'epoch_3.pth')), _weights(
        osp.join(wd, 'epoch_3.pth'))
    for key, value in ref_w.items():
        torch.testing.assert_close(got_w[key], value, rtol=1e-5, atol=1e-6)
