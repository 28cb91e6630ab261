"""Two gloo processes launched by tools/dist_train.sh train like one process with the
same total batch (CPU-only distributed path of tools/train.py)."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import torch

from conftest import (REPO_ROOT, free_port, save_random_demo_teacher,
                      write_demo_boot_config, write_unlabeled_images)


def _losses(work_dir):
    (path, ) = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    with open(path) as f:
        return [json.loads(line)['loss'] for line in f if '"loss"' in line]


def _run(cmd, env):
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def test_two_gloo_ranks_bootstrap_demo_config(tmp_path):
    """The demo bootstrap config (frozen teacher, frozen and warm-up-frozen blocks) under
    DDP on 2 gloo ranks: same loss curve and weights as 1 process with the same total batch,
    across the warm-up release at epoch 1."""
    data = write_unlabeled_images(str(tmp_path / 'data'))
    teacher_ckpt = save_random_demo_teacher(str(tmp_path / 'teacher.pth'))
    cfg = write_demo_boot_config(str(tmp_path / 'boot.py'), data, teacher_ckpt)
    env = dict(os.environ, PYTHON=sys.executable, OMP_NUM_THREADS='1',
               PORT=str(free_port()))
    single, double = str(tmp_path / 'single'), str(tmp_path / 'double')
    _run([sys.executable, 'tools/train.py', cfg, '--work-dir', single,
          '--cfg-options', 'train_dataloader.batch_size=8'], env)
    _run(['bash', 'tools/dist_train.sh', cfg, '2', '--work-dir', double,
          '--cfg-options', 'train_dataloader.batch_size=4'], env)

    loss_1, loss_2 = _losses(single), _losses(double)
    assert len(loss_1) == len(loss_2) == 4  # 16 images / batch 8 x 2 epochs
    torch.testing.assert_close(torch.tensor(loss_2), torch.tensor(loss_1), rtol=1e-4, atol=1e-5)

    from sfmm.utils import load_checkpoint_file
    w1 = load_checkpoint_file(osp.join(single, 'epoch_2.pth'))['state_dict']
    w2 = load_checkpoint_file(osp.join(double, 'epoch_2.pth'))['state_dict']
    assert w1.keys() == w2.keys()
    for k in w1:
        torch.testing.assert_close(w2[k], w1[k], rtol=1e-4, atol=1e-5)
