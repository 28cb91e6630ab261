"""Two gloo processes launched by tools/dist_train.sh train like one process with the
same total batch (CPU-only distributed path of tools/train.py)."""
import glob
import json
import os
import os.path as osp
import socket
import subprocess
import sys

import torch

from conftest import REPO_ROOT, write_tiny_imagenet

TINY_CFG = osp.join(REPO_ROOT, 'tests/data/configs/tiny_classifier.py')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _losses(work_dir):
    (path, ) = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    with open(path) as f:
        return [json.loads(line)['loss'] for line in f if '"loss"' in line]


def _run(cmd, env):
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def test_two_gloo_ranks_match_one_process(tmp_path):
    # images 2k and 2k+1 are equal, so rank 0's and rank 1's half batches carry the same
    # content as the single process's full batch (sampler without shuffling)
    data = write_tiny_imagenet(str(tmp_path / 'data'), per_class=8, pairs=True)
    opts = [f'train_dataloader.dataset.data_root={data}', f'val_dataloader.dataset.data_root={data}',
            f'test_dataloader.dataset.data_root={data}', 'train_dataloader.sampler.shuffle=False',
            'train_cfg.max_epochs=2', 'train_cfg.val_interval=10']
    env = dict(os.environ, PYTHON=sys.executable, OMP_NUM_THREADS='1',
               PORT=str(_free_port()))

    single = str(tmp_path / 'single')
    _run([sys.executable, 'tools/train.py', TINY_CFG, '--work-dir', single, '--cfg-options',
          *opts, 'train_dataloader.batch_size=4'], env)
    double = str(tmp_path / 'double')
    _run(['bash', 'tools/dist_train.sh', TINY_CFG, '2', '--work-dir', double, '--cfg-options',
          *opts, 'train_dataloader.batch_size=2'], env)

    loss_1, loss_2 = _losses(single), _losses(double)
    assert len(loss_1) == len(loss_2) == 8  # 16 images / batch 4 x 2 epochs
    torch.testing.assert_close(torch.tensor(loss_2), torch.tensor(loss_1), rtol=1e-4, atol=1e-5)
    assert loss_1[-1] < loss_1[0]

    from sfmm.utils import load_checkpoint_file
    w1 = load_checkpoint_file(osp.join(single, 'epoch_2.pth'))['state_dict']
    w2 = load_checkpoint_file(osp.join(double, 'epoch_2.pth'))['state_dict']
    assert w1.keys() == w2.keys()
    for k in w1:
        torch.testing.assert_close(w2[k], w1[k], rtol=1e-4, atol=1e-5)
