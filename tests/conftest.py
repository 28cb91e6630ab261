"""Shared fixtures: repo paths, CLI tool modules and tiny fabricated datasets."""
import importlib.util
import os.path as osp
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
