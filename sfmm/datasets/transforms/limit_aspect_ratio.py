"""Pad the short side of extreme-aspect-ratio images (1x4000 panoramas, 4000x1 strips)."""
import math
from numbers import Number
from typing import Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform

from sfmm.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LimitAspectRatio(BaseTransform):
    """Pad an image so that ``long side / short side <= max_ratio``.

    Without it a 1x4000 image makes ``ResizeEdge(scale=248, edge='short')`` allocate a
    248x992000 array, and ``Resize(scale=(2048, 512), keep_ratio=True)`` leaves a 1-pixel
    side that a stride-4 stem turns into an empty feature map. Put it right after the
    loading transform in classification pipelines; images within the ratio pass through
    untouched (same array), so ordinary evaluation numbers do not change.

    The short side is padded to ``ceil(long / max_ratio)``, centred by default, with
    ``pad_val``; segmentation maps (``gt_seg_map`` and every key in ``seg_fields``) are
    padded with ``seg_pad_val`` (mmseg's ignore index). Only images and segmentation
    maps are handled; boxes and keypoints are rejected.

    For segmentation tests, where predictions are resized back to ``ori_shape``, place it
    after ``Resize`` with ``record_padding=True`` and add ``'img_padding_size'`` to
    ``PackSegInputs(meta_keys=...)``: mmseg's ``BaseSegmentor.postprocess_result`` then
    crops the padding off before resizing, so predictions stay aligned with the image.
    ``img_padding_size`` takes precedence over the data preprocessor's ``padding_size``
    in mmseg, so do not combine it with a ``test_cfg`` padding there.

    Required Keys:

    - img

    Modified Keys:

    - img
    - img_shape
    - gt_seg_map (optional)

    Added Keys:

    - aspect_padding: ``(left, right, top, bottom)`` pixels added here
    - img_padding_size (only with ``record_padding``): the same, added to any value
      already present, in mmseg's ``(left, right, top, bottom)`` order

    Args:
        max_ratio (float): Largest allowed ``long / short`` side ratio, >= 1.
            Defaults to 10.0.
        pad_val (Number | Sequence[Number]): Image padding value (per channel if a
            sequence). Defaults to 0.
        seg_pad_val (int): Segmentation-map padding value. Defaults to 255.
        center (bool): Pad both ends of the short side equally (True) or only the
            bottom / right end (False). Defaults to True.
        record_padding (bool): Also accumulate the padding in
            ``results['img_padding_size']`` for mmseg. Defaults to False.
    """

    def __init__(self,
                 max_ratio: float = 10.0,
                 pad_val: Union[Number, Sequence[Number]] = 0,
                 seg_pad_val: int = 255,
                 center: bool = True,
                 record_padding: bool = False) -> None:
        if not isinstance(max_ratio, Number) or not max_ratio >= 1:
            raise ValueError(f'max_ratio must be a number >= 1, got {max_ratio!r}')
        self.max_ratio = float(max_ratio)
        self.pad_val = pad_val
        self.seg_pad_val = seg_pad_val
        self.center = center
        self.record_padding = record_padding

    def _padding(self, h: int, w: int) -> Tuple[int, int, int, int]:
        """Return ``(left, right, top, bottom)`` padding for an ``h x w`` image."""
        left = right = top = bottom = 0
        if w > self.max_ratio * h:
            extra = math.ceil(w / self.max_ratio) - h
            top = extra // 2 if self.center else 0
            bottom = extra - top
        elif h > self.max_ratio * w:
            extra = math.ceil(h / self.max_ratio) - w
            left = extra // 2 if self.center else 0
            right = extra - left
        return left, right, top, bottom

    def transform(self, results: dict) -> dict:
        """Pad ``results['img']`` (and segmentation maps) to the allowed ratio.

        Args:
            results (dict): Result dict with ``img`` ``(H, W)`` or ``(H, W, C)``.

        Returns:
            dict: ``results`` with the padded ``img`` ``(H', W'[, C])``.
        """
        img = results['img']
        h, w = img.shape[:2]
        if h == 0 or w == 0:
            raise ValueError(f'Zero-size image ({h}x{w}): {results.get("img_path")!r}')
        left, right, top, bottom = self._padding(h, w)
        results['aspect_padding'] = (left, right, top, bottom)
        if self.record_padding:
            prev = results.get('img_padding_size', (0, 0, 0, 0))
            results['img_padding_size'] = [
                int(a) + b for a, b in zip(prev, (left, right, top, bottom))]
        if left + right + top + bottom == 0:
            return results
        for key in ('gt_bboxes', 'gt_keypoints'):
            if key in results:
                raise NotImplementedError(f'LimitAspectRatio does not shift {key!r}')
        spatial = ((top, bottom), (left, right))
        results['img'] = self._pad(img, spatial, self.pad_val)
        results['img_shape'] = results['img'].shape[:2]
        seg_keys = set(results.get('seg_fields', [])) | {'gt_seg_map'}
        for key in sorted(seg_keys):
            if key in results:
                results[key] = self._pad(results[key], spatial, self.seg_pad_val)
        return results

    @staticmethod
    def _pad(arr: np.ndarray, spatial: tuple,
             value: Union[Number, Sequence[Number]]) -> np.ndarray:
        """Constant-pad the first two axes of ``arr``; ``value`` may be per channel."""
        widths = spatial + ((0, 0), ) * (arr.ndim - 2)
        if isinstance(value, Number) or arr.ndim == 2:
            fill = value if isinstance(value, Number) else value[0]
            return np.pad(arr, widths, mode='constant', constant_values=fill)
        out = np.pad(arr, widths, mode='constant')
        (top, bottom), (left, right) = spatial
        mask = np.ones(out.shape[:2], dtype=bool)
        mask[top:top + arr.shape[0], left:left + arr.shape[1]] = False
        out[mask] = np.asarray(value, dtype=out.dtype)
        return out

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(max_ratio={self.max_ratio}, '
                f'pad_val={self.pad_val}, seg_pad_val={self.seg_pad_val}, '
                f'center={self.center}, record_padding={self.record_padding})')
