"""Shared fixtures: repo paths, CLI tool modules and tiny fabricated datasets."""
import importlib.util
import os.path as osp
import socket
import sys

import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def load_tool(relpath: str):
    """Import a script under ``tools/`` (not a package) as a module."""
    path = osp.join(REPO_ROOT, relpath)
    name = 'sfmm_tool_' + relpath.replace('/', '_').replace('.py', '')
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now (for a process group's rendezvous)."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture(scope='session')
def repo_root() -> str:
    return REPO_ROOT


def write_tiny_imagenet(root: str, classes=('a', 'b'), per_class: int = 4, size: int = 32,
                        splits=('train', 'val'), seed: int = 0) -> str:
    """Write a tiny ImageNet-layout folder: ``{split}/{cls}/*.png`` + ``meta/{split}.txt``.

    Each class gets its own dominant colour so a tiny model can learn it.
    """
    import os

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    os.makedirs(osp.join(root, 'meta'), exist_ok=True)
    for split in splits:
        lines = []
        for label, cls in enumerate(classes):
            os.makedirs(osp.join(root, split, cls), exist_ok=True)
            for i in range(per_class):
                img = rng.integers(0, 60, (size, size, 3), dtype=np.uint8)
                img[..., label % 3] += 150
                rel = f'{cls}/{split}_{i}.png'
                Image.fromarray(img).save(osp.join(root, split, rel))
                lines.append(f'{rel} {label}')
        with open(osp.join(root, 'meta', f'{split}.txt'), 'w') as f:
            f.write('\n'.join(lines) + '\n')
    return root


@pytest.fixture
def tiny_imagenet(tmp_path) -> str:
    return write_tiny_imagenet(str(tmp_path / 'imagenet'))


def write_unlabeled_images(root: str, n_pairs: int = 8, size: int = 64, seed: int = 0) -> str:
    """Unlabeled images for a folder-scanning CustomDataset (``train/x/*.png``); files 2k and
    2k+1 (in name order) are identical, so rank-split batches carry the same content."""
    import os

    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(seed)
    os.makedirs(osp.join(root, 'train', 'x'), exist_ok=True)
    for k in range(n_pairs):
        img = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
        for j in range(2):
            Image.fromarray(img).save(osp.join(root, 'train', 'x', f'{2 * k + j:03d}.png'))
    return root


def save_random_demo_teacher(path: str) -> str:
    """A randomly initialised demo ViT teacher (configs/demo/vit-demo_demo-in.py), saved as
    the mmpretrain checkpoint the demo bootstrap config reads."""
    import torch
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS

    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs/demo/vit-demo_demo-in.py'))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        torch.manual_seed(0)
        teacher = MODELS.build(cfg.model)
    torch.save(dict(state_dict=teacher.state_dict()), path)
    return path


def write_demo_boot_config(path: str, data_root: str, teacher: str, extra: str = '',
                           batch_size: int = 64) -> str:
    """The demo bootstrap config on ``data_root`` with ``teacher``, without random flips."""
    base = osp.join(REPO_ROOT, 'configs/demo/sf-demo_vit-demo.py')
    with open(path, 'w') as f:
        f.write(f"_base_ = [{base!r}]\n"
                f"model = dict(teacher=dict(init_cfg=dict(checkpoint={teacher!r})))\n"
                "_pipe = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]\n"
                f"train_dataloader = dict(batch_size={batch_size}, sampler=dict(shuffle=False), "
                f"dataset=dict(data_root={data_root!r}, pipeline=_pipe))\n"
                "train_cfg = dict(max_epochs=2, val_interval=100)\n"
                "val_cfg = None\nval_dataloader = None\nval_evaluator = None\n"
                "default_hooks = dict(logger=dict(interval=1), "
                "checkpoint=dict(interval=1, max_keep_ckpts=-1))\n"
                + extra)
    return path


def write_fake_fashion_mnist(folder: str, n_train: int = 40, n_test: int = 20,
                             seed: int = 0) -> dict:
    """Write the four Fashion-MNIST ``*-ubyte.gz`` IDX files with random items (a bright
    blob on black, like the real photos) and labels; return the arrays by split."""
    import gzip
    import os

    import numpy as np

    from sfmm.datasets.fashion_mnist import FILES

    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    arrays = {}
    for split, n in (('train', n_train), ('test', n_test)):
        images = np.zeros((n, 28, 28), np.uint8)
        for k in range(n):
            y0, x0 = rng.integers(2, 10, 2)
            images[k, y0:y0 + int(rng.integers(10, 18)), x0:x0 + int(rng.integers(8, 18))] = \
                rng.integers(120, 256)
        labels = rng.integers(0, 10, n).astype(np.uint8)
        arrays[split] = (images, labels)
        for name, arr in zip(FILES[split], (images, labels)):
            head = bytes([0, 0, 8, arr.ndim]) + np.asarray(arr.shape, '>u4').tobytes()
            with open(osp.join(folder, name), 'wb') as f:
                f.write(gzip.compress(head + arr.tobytes()))
    return arrays
