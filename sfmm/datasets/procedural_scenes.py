"""A deterministic procedural scene generator: sfmm's embedded demo data.

No ImageNet and no foundation-model weights exist on a fresh machine, so the demo
(``tools/demo.py``) trains on scenes drawn here: one or more objects of a few shape
classes at random positions, scales, rotations and colours on cluttered, textured
backgrounds, each with a per-pixel mask. Scenes are written once to ``data/`` in the
layouts the host libraries read:

- ImageNet style (mmpretrain ``CustomDataset`` / ``ImageNet``)::

    demo_in/train/<class>/<class>_00000.png   one object per image, labelled by its class
    demo_in/val/<class>/...
    demo_in/meta/{train,val}.txt               "<class>/<file>.png <label>" per line

- ADE20K style (mmseg ``ADE20KDataset`` / ``BaseSegDataset`` with ``reduce_zero_label``)::

    demo_ade/images/{training,validation}/demo_00000.jpg
    demo_ade/annotations/{training,validation}/demo_00000.png   0 = background, k + 1 = class k

Every image comes from its own seed ``(seed, layout, split, index)``, so a scene does not
depend on how many others are drawn, or in which order.
"""
import json
import os
import os.path as osp
import shutil
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

_LAYOUT_IDS = {'in': 0, 'ade': 1}
_SPLIT_IDS = {'train': 0, 'val': 1}
_MARKER = 'sfmm_procedural.json'


def _regular_polygon(n: int, radius: float, angle: float, star: float = 1.0) -> np.ndarray:
    """Vertices (2n or n, 2) of a regular polygon (or a star if ``star < 1``) around 0."""
    if star < 1.0:
        k = np.arange(2 * n)
        r = np.where(k % 2 == 0, radius, radius * star)
        t = angle + k * np.pi / n
    else:
        k = np.arange(n)
        r = np.full(n, radius)
        t = angle + k * 2 * np.pi / n
    return np.stack([r * np.cos(t), r * np.sin(t)], axis=1)


def _rotate(points: np.ndarray, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return points @ np.array([[c, s], [-s, c]])


def _draw_shape(draw: ImageDraw.ImageDraw, name: str, cx: float, cy: float, r: float,
                angle: float) -> None:
    """Draw shape ``name`` of radius ``r`` centred at (cx, cy) with fill 255 on a mask."""
    centre = np.array([cx, cy])

    def poly(points: np.ndarray) -> None:
        draw.polygon([tuple(p) for p in (points + centre)], fill=255)

    if name == 'circle':
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
    elif name == 'ring':
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
        h = 0.55 * r
        draw.ellipse([cx - h, cy - h, cx + h, cy + h], fill=0)
    elif name == 'square':
        poly(_regular_polygon(4, r, angle))
    elif name == 'triangle':
        poly(_regular_polygon(3, r, angle))
    elif name == 'star':
        poly(_regular_polygon(5, r, angle, star=0.45))
    elif name == 'cross':
        w = 0.3 * r
        arm = np.array([[-r, -w], [r, -w], [r, w], [-r, w]])
        poly(_rotate(arm, angle))
        poly(_rotate(arm[:, ::-1], angle))
    elif name == 'bar':
        w = 0.28 * r
        poly(_rotate(np.array([[-r, -w], [r, -w], [r, w], [-r, w]]), angle))
    elif name == 'ell':
        t = 0.35 * r
        ell = np.array([[-r, -r], [-r + 2 * t, -r], [-r + 2 * t, r - 2 * t], [r, r - 2 * t],
                        [r, r], [-r, r]]) * 0.9
        poly(_rotate(ell, angle))
    else:
        raise ValueError(f'unknown shape {name!r}')


def textured_background(rng: np.random.Generator, size: int, clutter: int) -> np.ndarray:
    """A dark ``(size, size, 3)`` float32 background: a two-colour gradient, two faint
    gratings, ``clutter`` strokes, blobs and arcs, and pixel noise (all drawn from ``rng``)."""
    s = size
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32) / max(s - 1, 1)
    c0, c1 = rng.uniform(0, 110, (2, 3))  # backgrounds are dark, objects light
    t = np.cos(rng.uniform(0, 2 * np.pi)) * xx + np.sin(rng.uniform(0, 2 * np.pi)) * yy
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    bg = c0 * (1 - t[..., None]) + c1 * t[..., None]
    # low-frequency texture: a few sinusoidal gratings
    for _ in range(2):
        f = rng.uniform(2, 8)
        th = rng.uniform(0, np.pi)
        g = np.sin(2 * np.pi * f * (np.cos(th) * xx + np.sin(th) * yy) + rng.uniform(0, 6))
        bg += g[..., None] * rng.uniform(-15, 15, 3)
    img = Image.fromarray(np.clip(bg, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(clutter):
        colour = tuple(int(v) for v in rng.integers(0, 150, 3))
        kind = rng.integers(0, 3)
        x0, y0 = rng.uniform(-0.1 * s, 1.1 * s, 2)
        if kind == 0:  # stroke
            x1, y1 = x0 + rng.uniform(-0.5, 0.5, 2) * s
            draw.line([x0, y0, x1, y1], fill=colour, width=int(rng.integers(1, 3)))
        elif kind == 1:  # small blob
            r = rng.uniform(0.01, 0.04) * s
            draw.ellipse([x0 - r, y0 - r, x0 + r, y0 + r], fill=colour)
        else:  # arc
            r = rng.uniform(0.05, 0.2) * s
            a = rng.uniform(0, 360)
            draw.arc([x0 - r, y0 - r, x0 + r, y0 + r], a, a + rng.uniform(40, 160),
                     fill=colour, width=1)
    arr = np.asarray(img, dtype=np.float32)
    arr += rng.normal(0, 6, arr.shape)
    return np.clip(arr, 0, 255)


class ProceduralScenes:
    """Seeded scenes of shape objects on cluttered backgrounds, with per-pixel masks.

    Args:
        classes (Sequence[str]): Shape classes, a subset of :attr:`ALL_CLASSES`; label k is
            ``classes[k]``. Defaults to :attr:`ALL_CLASSES`.
        img_size (int): Side of the square images in pixels. Defaults to 64.
        scale_range (Tuple[float, float]): Object radius as a fraction of ``img_size``.
            Defaults to (0.14, 0.3).
        clutter (int): Number of clutter strokes and blobs drawn on each background.
            Defaults to 12.
        seed (int): Base seed; the same seed always gives the same pixels. Defaults to 0.
    """

    ALL_CLASSES = ('circle', 'ring', 'square', 'triangle', 'star', 'cross', 'bar', 'ell')

    def __init__(self,
                 classes: Sequence[str] = ALL_CLASSES,
                 img_size: int = 64,
                 scale_range: Tuple[float, float] = (0.14, 0.3),
                 clutter: int = 12,
                 seed: int = 0) -> None:
        unknown = [c for c in classes if c not in self.ALL_CLASSES]
        if unknown or len(set(classes)) != len(classes) or not classes:
            raise ValueError(f'classes must be distinct names from {self.ALL_CLASSES}, '
                             f'got {tuple(classes)}')
        self.classes = tuple(classes)
        self.img_size = int(img_size)
        self.scale_range = (float(scale_range[0]), float(scale_range[1]))
        self.clutter = int(clutter)
        self.seed = int(seed)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def _params(self) -> Dict:
        return dict(classes=list(self.classes), img_size=self.img_size,
                    scale_range=list(self.scale_range), clutter=self.clutter, seed=self.seed)

    # ------------------------------------------------------------------ drawing
    def _background(self, rng: np.random.Generator) -> np.ndarray:
        return textured_background(rng, self.img_size, self.clutter)

    def render(self, rng: np.random.Generator,
               labels: Sequence[int]) -> Tuple[np.ndarray, np.ndarray]:
        """Draw one scene holding one object per entry of ``labels`` (later ones on top).

        Args:
            rng (np.random.Generator): The source of randomness for this scene.
            labels (Sequence[int]): Class indices of the objects to draw.

        Returns:
            Tuple[np.ndarray, np.ndarray]: The image ``(S, S, 3)`` uint8 and the mask
            ``(S, S)`` uint8 with 0 for background and ``label + 1`` on each object's
            visible pixels.
        """
        s = self.img_size
        img = self._background(rng)
        mask = np.zeros((s, s), np.uint8)
        for label in labels:
            name = self.classes[int(label)]
            r = rng.uniform(*self.scale_range) * s
            cx, cy = rng.uniform(r * 0.8, s - r * 0.8, 2)
            canvas = Image.new('L', (4 * s, 4 * s), 0)  # 4x supersampled for soft edges
            _draw_shape(ImageDraw.Draw(canvas), name, 4 * cx, 4 * cy, 4 * r,
                        rng.uniform(0, 2 * np.pi))
            alpha = np.asarray(canvas.resize((s, s), Image.BOX), np.float32) / 255.
            # a light colour of any hue: every channel above the dark background
            colour = 255. - rng.uniform(0, 100, 3)
            shade = 0.92 + 0.08 * np.asarray(
                Image.fromarray((rng.uniform(0, 255, (s // 8, s // 8))).astype(np.uint8))
                .resize((s, s), Image.BILINEAR).filter(ImageFilter.BLUR), np.float32) / 255.
            obj = np.clip(colour[None, None] * shade[..., None], 0, 255)
            img = img * (1 - alpha[..., None]) + obj * alpha[..., None]
            mask[alpha >= 0.5] = int(label) + 1
        return np.clip(img + 0.5, 0, 255).astype(np.uint8), mask

    def scene(self, layout: str, split: str, index: int,
              labels: Optional[Sequence[int]] = None) -> Tuple[np.ndarray, np.ndarray, List[int]]:
        """The ``index``-th scene of ``layout`` ('in' or 'ade') and ``split`` ('train'/'val').

        'in' scenes hold one object of class ``index % num_classes`` (balanced classes);
        'ade' scenes hold one to three objects of distinct random classes.

        Args:
            layout (str): 'in' (classification) or 'ade' (segmentation).
            split (str): 'train' or 'val'.
            index (int): Scene index inside the split.
            labels (Sequence[int], optional): Override the object classes. Defaults to None.

        Returns:
            Tuple[np.ndarray, np.ndarray, List[int]]: image, mask and the object labels.
        """
        rng = np.random.default_rng([self.seed, _LAYOUT_IDS[layout], _SPLIT_IDS[split], index])
        if labels is None:
            if layout == 'in':
                labels = [index % self.num_classes]
            else:
                n = int(rng.integers(1, min(3, self.num_classes) + 1))
                labels = [int(v) for v in rng.permutation(self.num_classes)[:n]]
        img, mask = self.render(rng, labels)
        return img, mask, list(labels)

    # ------------------------------------------------------------------ writing
    def _is_complete(self, root: str, params: Dict) -> bool:
        marker = osp.join(root, _MARKER)
        if not osp.isfile(marker):
            return False
        with open(marker) as f:
            return json.load(f) == params

    def _start(self, root: str, params: Dict, subdirs: Sequence[str], force: bool) -> bool:
        """Return False if ``root`` already holds this exact data; else clear our subdirs."""
        if not force and self._is_complete(root, params):
            return False
        for sub in (*subdirs, _MARKER):
            path = osp.join(root, sub)
            if osp.isdir(path):
                shutil.rmtree(path)
            elif osp.isfile(path):
                os.remove(path)
        os.makedirs(root, exist_ok=True)
        return True

    def _finish(self, root: str, params: Dict) -> None:
        with open(osp.join(root, _MARKER), 'w') as f:
            json.dump(params, f, indent=1)

    def write_imagenet(self, root: str, num_train: int, num_val: int,
                       force: bool = False) -> bool:
        """Write the ImageNet-style layout under ``root`` unless it is already complete.

        Args:
            root (str): Output folder, e.g. ``data/demo_in``.
            num_train (int): Number of training images (classes balanced).
            num_val (int): Number of validation images (classes balanced).
            force (bool): Rewrite even if a complete copy exists. Defaults to False.

        Returns:
            bool: True if images were written, False if an identical copy was present.
        """
        params = dict(layout='imagenet', num_train=num_train, num_val=num_val, **self._params())
        if not self._start(root, params, ('train', 'val', 'meta'), force):
            return False
        os.makedirs(osp.join(root, 'meta'))
        for split, num in (('train', num_train), ('val', num_val)):
            for name in self.classes:
                os.makedirs(osp.join(root, split, name))
            lines = []
            for i in range(num):
                img, _, labels = self.scene('in', split, i)
                name = self.classes[labels[0]]
                rel = f'{name}/{name}_{i:05d}.png'
                Image.fromarray(img).save(osp.join(root, split, rel))
                lines.append(f'{rel} {labels[0]}\n')
            with open(osp.join(root, 'meta', f'{split}.txt'), 'w') as f:
                f.writelines(lines)
        with open(osp.join(root, 'meta', 'classes.txt'), 'w') as f:
            f.writelines(c + '\n' for c in self.classes)
        self._finish(root, params)
        return True

    def write_ade20k(self, root: str, num_train: int, num_val: int,
                     force: bool = False) -> bool:
        """Write the ADE20K-style layout under ``root`` unless it is already complete.

        Images are JPEG (``img_suffix='.jpg'``), annotations PNG with 0 for background
        and ``k + 1`` for class k, so ``reduce_zero_label=True`` gives labels 0..K-1
        with background ignored (255), as in ADE20K.

        Args:
            root (str): Output folder, e.g. ``data/demo_ade``.
            num_train (int): Number of training scenes.
            num_val (int): Number of validation scenes.
            force (bool): Rewrite even if a complete copy exists. Defaults to False.

        Returns:
            bool: True if images were written, False if an identical copy was present.
        """
        params = dict(layout='ade20k', num_train=num_train, num_val=num_val, **self._params())
        if not self._start(root, params, ('images', 'annotations'), force):
            return False
        for split, folder, num in (('train', 'training', num_train),
                                   ('val', 'validation', num_val)):
            img_dir = osp.join(root, 'images', folder)
            ann_dir = osp.join(root, 'annotations', folder)
            os.makedirs(img_dir)
            os.makedirs(ann_dir)
            for i in range(num):
                img, mask, _ = self.scene('ade', split, i)
                Image.fromarray(img).save(osp.join(img_dir, f'demo_{i:05d}.jpg'), quality=95)
                Image.fromarray(mask).save(osp.join(ann_dir, f'demo_{i:05d}.png'))
        self._finish(root, params)
        return True
