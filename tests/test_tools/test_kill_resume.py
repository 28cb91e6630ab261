"""A run SIGKILLed mid-epoch (mid-interval) and restarted with ``--resume`` ends with the
same weights as a run that was never interrupted: the demo bootstrap config (by epoch) and
the demo segmentation config (by iteration), on tiny data. Random augmentations are left
out, since mmengine does not checkpoint the data pipeline's RNG state."""
import os
import os.path as osp
import signal
import subprocess
import sys

import numpy as np
import torch
from PIL import Image

from conftest import (REPO_ROOT, save_random_demo_teacher, write_demo_boot_config,
                      write_unlabeled_images)

KILL_IMPORTS = ("custom_imports = dict(imports=['sfmm.models', 'sfmm.engine', "
                "'sigkill_hook'], allow_failed_imports=False)\n")


def _train(cfg, work_dir, resume=False):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env['PYTHONPATH'] = osp.join(REPO_ROOT, 'tests', 'data') + os.pathsep + env.get(
        'PYTHONPATH', '')
    cmd = [sys.executable, osp.join(REPO_ROOT, 'tools/train.py'), cfg, '--work-dir', work_dir]
    if resume:
        cmd.append('--resume')
    return subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


def _weights(path):
    from sfmm.weights import read_checkpoint
    return read_checkpoint(path)


def _kill_and_resume(tmp_path, cfg, kill_cfg, first, final, resumed_msg):
    ref = _train(cfg, str(tmp_path / 'ref'))
    assert ref.returncode == 0, ref.stderr[-3000:]

    wd = str(tmp_path / 'killed')
    killed = _train(kill_cfg, wd)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert osp.isfile(osp.join(wd, first)) and not osp.exists(osp.join(wd, final))
    assert not [f for f in os.listdir(wd) if f.endswith('.tmp')]

    resumed = _train(cfg, wd, resume=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert resumed_msg in (resumed.stdout + resumed.stderr).lower()

    ref_w, got_w = _weights(osp.join(tmp_path, 'ref', final)), _weights(osp.join(wd, final))
    assert ref_w.keys() == got_w.keys()
    for key, value in ref_w.items():
        torch.testing.assert_close(got_w[key], value, rtol=1e-5, atol=1e-6)
    first_w = _weights(osp.join(wd, first))
    changed = any(not torch.equal(first_w[k], v) for k, v in ref_w.items())
    assert changed  # training after the resume point really changed the weights


def test_bootstrap_demo_config_kill_and_resume(tmp_path):
    data = write_unlabeled_images(str(tmp_path / 'data'), n_pairs=6)
    teacher = save_random_demo_teacher(str(tmp_path / 'teacher.pth'))
    cfg = write_demo_boot_config(str(tmp_path / 'boot.py'), data, teacher, batch_size=4)
    # 12 images / batch 4 = 3 iterations per epoch: die in the second iteration of epoch 2
    kill = write_demo_boot_config(
        str(tmp_path / 'kill.py'), data, teacher, KILL_IMPORTS +
        "custom_hooks = [dict(type='sfmm.CheckpointCompatHook'), "
        "dict(type='sfmm.WarmupFreezeHook', unfreeze_at=1), "
        "dict(type='SigkillAtIterHook', at_iter=5)]\n", batch_size=4)
    _kill_and_resume(tmp_path, cfg, kill, 'epoch_1.pth', 'epoch_2.pth', 'resumed epoch: 1')


def _write_tiny_ade(root, n=6, size=64, seed=0):
    rng = np.random.default_rng(seed)
    for split in ('training', 'validation'):
        os.makedirs(osp.join(root, 'images', split), exist_ok=True)
        os.makedirs(osp.join(root, 'annotations', split), exist_ok=True)
        for i in range(n):
            seg = rng.integers(0, 9, (size // 8, size // 8), dtype=np.uint8)
            seg = np.kron(seg, np.ones((8, 8), dtype=np.uint8))
            img = (seg[..., None] * 25 + rng.integers(0, 30, (size, size, 3))).astype(np.uint8)
            Image.fromarray(img).save(osp.join(root, 'images', split, f'{i:03d}.jpg'))
            Image.fromarray(seg).save(osp.join(root, 'annotations', split, f'{i:03d}.png'))
    return root


def test_segmentation_demo_config_kill_and_resume(tmp_path):
    data = _write_tiny_ade(str(tmp_path / 'ade'))
    base = osp.join(REPO_ROOT, 'configs/segmentation/sf-demo_demo-ade.py')
    body = (
        f"_base_ = [{base!r}]\n"
        "model = dict(backbone=dict(init_cfg=None))\n"
        "_pipe = [dict(type='sfmm.LoadImageFromFileSafe'), dict(type='LoadAnnotations'), "
        "dict(type='PackSegInputs')]\n"
        f"train_dataloader = dict(batch_size=2, dataset=dict(data_root={data!r}, "
        "pipeline=_pipe))\n"
        f"val_dataloader = dict(dataset=dict(data_root={data!r}))\n"
        f"test_dataloader = dict(dataset=dict(data_root={data!r}))\n"
        "train_cfg = dict(type='IterBasedTrainLoop', max_iters=6, val_interval=100)\n"
        "optim_wrapper = dict(optimizer=dict(lr=1e-3))\n"
        "param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0, "
        "end=6)]\n"
        "default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=2, "
        "save_best=None, max_keep_ckpts=-1))\n")
    cfg = tmp_path / 'seg.py'
    cfg.write_text(body)
    kill = tmp_path / 'seg_kill.py'
    kill.write_text(body + KILL_IMPORTS +
                    "custom_hooks = [dict(type='sfmm.CheckpointCompatHook'), "
                    "dict(type='SigkillAtIterHook', at_iter=4)]\n")
    _kill_and_resume(tmp_path, str(cfg), str(kill), 'iter_2.pth', 'iter_6.pth',
                     'resumed epoch: 0, iter: 2')
