"""Fashion-MNIST items on cluttered canvases: the demo's real-image classification data.

A 28x28 Fashion-MNIST photo fills its frame, so a token's RoI has nothing to find in it.
:class:`FashionCanvases` places each item, tinted with a light colour and resized to a random
side (24-44 px by default), at a random position on a larger canvas (64x64) whose dark,
textured background (:func:`sfmm.datasets.procedural_scenes.textured_background`) also holds
faint fragments of other items as distractors. The item's box is kept, so the demo can
measure whether the student's RoIs move onto it. Canvas ``i`` of a split is drawn from
Fashion-MNIST image ``i`` of that split ('train': the 60,000 training photos, 'val': the
official 10,000-image test split) with its own seed ``(seed, split, i)``: a canvas does not
depend on how many others are written. They are written in the ImageNet layout mmpretrain's
``CustomDataset`` reads::

    <root>/train/<class>/<class>_00000.png      meta/train.txt   "<class>/<file>.png <label>"
    <root>/val/<class>/...                      meta/val.txt
    meta/{train,val}_images.txt                 the same images without labels (bootstrapping)
    meta/{train,val}_boxes.txt                  "x0 y0 x1 y1" in pixels, one per listed image

A later call asking for more images of a split writes only the missing ones.
"""
import json
import os
import os.path as osp
import shutil
from typing import Dict, List, Optional, Tuple

import numpy as np
from PIL import Image

from .fashion_mnist import CLASSES, load_fashion_mnist
from .procedural_scenes import textured_background

_SPLITS = {'train': ('train', 0), 'val': ('test', 1)}  # canvas split -> (source split, id)
_MARKER = 'sfmm_fashion_canvases.json'


class FashionCanvases:
    """Seeded canvases holding one Fashion-MNIST item each, with the item's box.

    Args:
        img_size (int): Canvas side in pixels. Defaults to 64.
        item_range (Tuple[int, int]): Smallest and largest item side in pixels.
            Defaults to (24, 44).
        clutter (int): Strokes, blobs and arcs on each background. Defaults to 8.
        fragments (int): Faint crops of other items pasted as distractors. Defaults to 3.
        seed (int): Base seed. Defaults to 0.
        folder (str, optional): Where the Fashion-MNIST files are. Defaults to None (sfmm's
            cache, fetched on first use by :func:`sfmm.datasets.fetch_fashion_mnist`).
    """

    classes = CLASSES

    def __init__(self,
                 img_size: int = 64,
                 item_range: Tuple[int, int] = (24, 44),
                 clutter: int = 8,
                 fragments: int = 3,
                 seed: int = 0,
                 folder: Optional[str] = None) -> None:
        lo, hi = int(item_range[0]), int(item_range[1])
        if not 8 <= lo <= hi <= img_size:
            raise ValueError(f'item_range must satisfy 8 <= min <= max <= img_size '
                             f'({img_size}), got {tuple(item_range)}')
        self.img_size = int(img_size)
        self.item_range = (lo, hi)
        self.clutter = int(clutter)
        self.fragments = int(fragments)
        self.seed = int(seed)
        self.folder = folder
        self._source: Dict[str, Tuple[np.ndarray, np.ndarray]] = {}

    def _params(self) -> Dict:
        return dict(img_size=self.img_size, item_range=list(self.item_range),
                    clutter=self.clutter, fragments=self.fragments, seed=self.seed)

    def source(self, split: str) -> Tuple[np.ndarray, np.ndarray]:
        """Fashion-MNIST images and labels behind canvas split ``split`` ('train'/'val')."""
        if split not in _SPLITS:
            raise ValueError(f'split must be one of {sorted(_SPLITS)}, got {split!r}')
        if split not in self._source:
            self._source[split] = load_fashion_mnist(_SPLITS[split][0], self.folder)
        return self._source[split]

    def render(self, item: np.ndarray, pool: np.ndarray,
               rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
        """Draw one canvas around ``item`` (28x28 uint8), with fragments taken from ``pool``.

        Returns:
            Tuple[np.ndarray, np.ndarray]: the canvas ``(S, S, 3)`` uint8 and the item's box
            ``(x0, y0, x1, y1)`` in pixels (float32; x1, y1 exclusive).
        """
        s = self.img_size
        img = textured_background(rng, s, self.clutter)
        for _ in range(self.fragments):
            src = pool[int(rng.integers(len(pool)))]
            cy, cx = rng.integers(4, 14, 2)
            crop = src[cy:cy + 12, cx:cx + 12]
            side = int(rng.integers(8, 15))
            crop = np.asarray(Image.fromarray(crop).resize((side, side), Image.BILINEAR),
                              np.float32) / 255.
            y, x = rng.integers(0, s - side + 1, 2)
            alpha = 0.35 * crop[..., None]
            patch = img[y:y + side, x:x + side]
            img[y:y + side, x:x + side] = patch * (1 - alpha) + rng.uniform(80, 160) * alpha
        side = int(rng.integers(self.item_range[0], self.item_range[1] + 1))
        alpha = np.asarray(Image.fromarray(item).resize((side, side), Image.BILINEAR),
                           np.float32) / 255.
        y, x = rng.integers(0, s - side + 1, 2)
        colour = 255. - rng.uniform(0, 100, 3)
        region = img[y:y + side, x:x + side]
        img[y:y + side, x:x + side] = (region * (1 - alpha[..., None]) +
                                       colour * alpha[..., None])
        rows = np.flatnonzero((alpha > 0.1).any(axis=1))
        cols = np.flatnonzero((alpha > 0.1).any(axis=0))
        if len(rows):
            box = [x + cols[0], y + rows[0], x + cols[-1] + 1, y + rows[-1] + 1]
        else:  # an empty photo: the whole item square
            box = [x, y, x + side, y + side]
        return np.clip(img + 0.5, 0, 255).astype(np.uint8), np.asarray(box, np.float32)

    def canvas(self, split: str, index: int) -> Tuple[np.ndarray, np.ndarray, int]:
        """The ``index``-th canvas of ``split``: image, item box and label."""
        images, labels = self.source(split)
        rng = np.random.default_rng([self.seed, _SPLITS[split][1], int(index)])
        img, box = self.render(images[index], images, rng)
        return img, box, int(labels[index])

    # ------------------------------------------------------------------ writing
    def _read_marker(self, root: str) -> Optional[Dict]:
        path = osp.join(root, _MARKER)
        if not osp.isfile(path):
            return None
        with open(path) as f:
            marker = json.load(f)
        return marker if marker.get('params') == self._params() else None

    def write_imagenet(self, root: str, num_train: Optional[int] = None,
                       num_val: Optional[int] = None, force: bool = False,
                       list_suffix: str = '') -> bool:
        """Write (or extend) the ImageNet layout under ``root``; list the first ``num_*``.

        Args:
            root (str): Output folder, e.g. ``data/fashion_canvas``.
            num_train (int, optional): Training canvases to list in ``meta/train.txt``.
                Defaults to None (all 60,000).
            num_val (int, optional): Canvases of the official test split to list in
                ``meta/val.txt``. Defaults to None (all 10,000).
            force (bool): Rewrite everything. Defaults to False.
            list_suffix (str): The lists go to ``meta/<split><list_suffix>.txt`` (and
                ``_images.txt``, ``_boxes.txt``), so that several listings of one folder (the
                demo's subset, a teacher's whole split) live side by side. Defaults to ''.

        Returns:
            bool: True if any image was written, False if all were present.
        """
        marker = None if force else self._read_marker(root)
        if marker is None:
            for sub in ('train', 'val', 'meta', _MARKER):
                path = osp.join(root, sub)
                if osp.isdir(path):
                    shutil.rmtree(path)
                elif osp.isfile(path):
                    os.remove(path)
            marker = dict(params=self._params(), written=dict(train=0, val=0))
        os.makedirs(osp.join(root, 'meta'), exist_ok=True)
        wrote = False
        for split, num in (('train', num_train), ('val', num_val)):
            images, labels = self.source(split)
            num = len(images) if num is None else int(num)
            if not 0 < num <= len(images):
                raise ValueError(f'{split}: asked for {num} canvases, the split has '
                                 f'{len(images)}')
            done = int(marker['written'][split])
            boxes_file = osp.join(root, 'meta', f'{split}_boxes_written.txt')
            boxes: List[str] = []
            if done:
                with open(boxes_file) as f:
                    boxes = f.read().splitlines()[:done]
            for name in self.classes:
                os.makedirs(osp.join(root, split, name), exist_ok=True)
            for i in range(done, num):
                img, box, label = self.canvas(split, i)
                name = self.classes[label]
                Image.fromarray(img).save(osp.join(root, split, name, f'{name}_{i:05d}.png'))
                boxes.append(' '.join(f'{v:g}' for v in box))
                wrote = True
            if num > done:
                with open(boxes_file + '.tmp', 'w') as f:
                    f.writelines(b + '\n' for b in boxes)
                os.replace(boxes_file + '.tmp', boxes_file)
                marker['written'][split] = num
                with open(osp.join(root, _MARKER), 'w') as f:
                    json.dump(marker, f, indent=1)
            lines = [f'{self.classes[lab]}/{self.classes[lab]}_{i:05d}.png {lab}\n'
                     for i, lab in enumerate(labels[:num].tolist())]
            name = f'{split}{list_suffix}'
            with open(osp.join(root, 'meta', f'{name}.txt'), 'w') as f:
                f.writelines(lines)
            with open(osp.join(root, 'meta', f'{name}_images.txt'), 'w') as f:
                f.writelines(line.rsplit(' ', 1)[0] + '\n' for line in lines)
            with open(osp.join(root, 'meta', f'{name}_boxes.txt'), 'w') as f:
                f.writelines(b + '\n' for b in boxes[:num])
        with open(osp.join(root, 'meta', 'classes.txt'), 'w') as f:
            f.writelines(c + '\n' for c in self.classes)
        return wrote


def read_boxes(root: str, split: str = 'val', list_suffix: str = '') -> np.ndarray:
    """The item boxes ``(N, 4)`` (x0, y0, x1, y1 pixels) listed for ``split`` under ``root``."""
    path = osp.join(root, 'meta', f'{split}{list_suffix}_boxes.txt')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: no box file; write the canvases with '
                                f'FashionCanvases.write_imagenet first')
    return np.loadtxt(path, dtype=np.float32, ndmin=2)
