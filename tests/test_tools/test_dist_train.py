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

    from sfmm.weights import read_checkpoint
    w1 = read_checkpoint(osp.join(single, 'epoch_2.pth'), unwrap=False)['state_dict']
    w2 = read_checkpoint(osp.join(double, 'epoch_2.pth'), unwrap=False)['state_dict']
    assert w1.keys() == w2.keys()
    for k in w1:
        torch.testing.assert_close(w2[k], w1[k], rtol=1e-4, atol=1e-5)


def _write_paired_demo_ade(root, n_pairs=4, size=64, seed=0):
    """ADE20K-layout demo scenes (8 classes, label 0 ignored) for the demo segmentation config;
    files 2k and 2k+1 (in name order) are identical, so the two ranks' halves of a batch
    carry the same content as the whole batch."""
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(seed)
    for sub in ('images/training', 'annotations/training'):
        os.makedirs(osp.join(root, sub), exist_ok=True)
    for k in range(n_pairs):
        label = np.zeros((size, size), np.uint8)
        img = rng.integers(0, 40, (size, size, 3)).astype(np.uint8)
        for cls in rng.choice(np.arange(1, 9), 3, replace=False):
            y, x = rng.integers(0, size - 20, 2)
            h, w = rng.integers(10, 20, 2)
            label[y:y + h, x:x + w] = cls
            img[y:y + h, x:x + w] = rng.integers(60, 255, 3)
        for j in range(2):
            name = f'{2 * k + j:03d}'
            Image.fromarray(img).save(osp.join(root, 'images/training', name + '.jpg'))
            Image.fromarray(label).save(osp.join(root, 'annotations/training', name + '.png'))
    return root


def _save_demo_student(path):
    """A demo student (configs/demo/_base_/archs.py, 15 latent tokens, with its embedding
    head), saved as a bootstrap run saves it (``backbone.*``)."""
    from mmengine.config import Config

    from sfmm.models.backbones import SparseFormer
    arch = Config.fromfile(osp.join(REPO_ROOT, 'configs/demo/_base_/archs.py'))
    cfg = arch.sf_backbone.to_dict()
    cfg.pop('type')
    torch.manual_seed(0)
    student = SparseFormer(**cfg)
    assert 'norm.weight' in student.state_dict()
    torch.save(dict(state_dict={f'backbone.{k}': v for k, v in student.state_dict().items()}),
               path)
    return path


def test_two_gloo_ranks_segmentation_demo_config(tmp_path):
    """The demo segmentation config (SparseFormer backbone without an embedding head, RoI
    logit-projection head, layer-wise lr decay) under DDP on 2 gloo ranks, without
    find_unused_parameters: same loss curve and weights as 1 process with the same total
    batch. Random augmentation is off and the loss is averaged over all pixels
    (``avg_non_ignore=False``), so it does not depend on how the batch is split."""
    data = _write_paired_demo_ade(str(tmp_path / 'demo_ade'))
    student = _save_demo_student(str(tmp_path / 'student.pth'))
    cfg = tmp_path / 'seg.py'
    cfg.write_text(
        f"_base_ = [{osp.join(REPO_ROOT, 'configs/segmentation/sf-demo_demo-ade.py')!r}]\n"
        f"model = dict(backbone=dict(init_cfg=dict(checkpoint={student!r})),\n"
        "             decode_head=dict(loss_decode=dict(avg_non_ignore=False)))\n"
        "_pipe = [dict(type='sfmm.LoadImageFromFileSafe'), dict(type='LoadAnnotations'),\n"
        "         dict(type='PackSegInputs')]\n"
        "train_dataloader = dict(sampler=dict(shuffle=False),\n"
        f"                        dataset=dict(data_root={data!r}, pipeline=_pipe))\n"
        "val_cfg = None\nval_dataloader = None\nval_evaluator = None\n"
        "param_scheduler = [\n"
        "    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=2),\n"
        "    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=2, end=4)]\n"
        "train_cfg = dict(max_iters=4, val_interval=100)\n"
        "default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=4))\n")
    env = dict(os.environ, PYTHON=sys.executable, OMP_NUM_THREADS='1',
               PORT=str(free_port()))
    single, double = str(tmp_path / 'single'), str(tmp_path / 'double')
    _run([sys.executable, 'tools/train.py', str(cfg), '--work-dir', single,
          '--cfg-options', 'train_dataloader.batch_size=8'], env)
    _run(['bash', 'tools/dist_train.sh', str(cfg), '2', '--work-dir', double,
          '--cfg-options', 'train_dataloader.batch_size=4'], env)

    loss_1, loss_2 = _losses(single), _losses(double)
    assert len(loss_1) == len(loss_2) == 4
    torch.testing.assert_close(torch.tensor(loss_2), torch.tensor(loss_1), rtol=1e-4, atol=1e-5)
    assert loss_1[-1] < loss_1[0]  # it trains

    from sfmm.weights import read_checkpoint
    w1 = read_checkpoint(osp.join(single, 'iter_4.pth'), unwrap=False)['state_dict']
    w2 = read_checkpoint(osp.join(double, 'iter_4.pth'), unwrap=False)['state_dict']
    assert w1.keys() == w2.keys()
    assert not any(k.startswith('backbone.norm.') for k in w1)
    # The predictive bias's own bias adds the same score to every token, so the softmax
    # cancels it: its gradient is 0 up to round-off, which AdamW turns into steps of random
    # sign. It changes no output; it only has to stay at that noise level in both runs.
    shift = 'decode_head.pred_bias.bias'
    assert w1[shift].abs().max() < 1e-4 and w2[shift].abs().max() < 1e-4
    for k in w1.keys() - {shift}:
        torch.testing.assert_close(w2[k], w1[k], rtol=1e-4, atol=1e-5,
                                   msg=lambda m, k=k: f'{k}: {m}')
    # the weights moved well beyond the tolerance (from the student / the head's init)
    init = torch.load(student)['state_dict']
    moved = max((w1[k] - init[k]).abs().max().item() for k in init if k in w1
                and k != 'backbone.init_rois.weight')
    assert moved > 1e-3
