"""A drop-in ``LoadImageFromFile`` that decodes odd images and handles broken files."""
import io
import warnings
from typing import Optional

import cv2
import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import LoadImageFromFile
from PIL import Image, ImageOps, UnidentifiedImageError

from sfmm.registry import TRANSFORMS

#: PIL modes holding 16-bit integer samples (PNG 16-bit grayscale opens as one of these).
_UINT16_MODES = ('I;16', 'I;16B', 'I;16L', 'I;16N')
#: PIL modes carrying an alpha channel (``P`` may carry one as ``info['transparency']``).
_ALPHA_MODES = ('RGBA', 'RGBa', 'LA', 'La', 'PA')
_ALPHA_CHOICES = ('drop', 'black')
_COLOR_TYPES = ('color', 'grayscale')


def _scale_to_uint8(arr: np.ndarray, max_val: int) -> np.ndarray:
    """Linearly map integer samples in ``[0, max_val]`` to ``[0, 255]`` (rounded)."""
    arr = np.clip(arr.astype(np.int64), 0, max_val)
    return ((arr * 255 + max_val // 2) // max_val).astype(np.uint8)


def _high_depth_to_l(img: Image.Image) -> Image.Image:
    """Convert a 16/32-bit integer or float single-channel PIL image to 8-bit ``L``.

    16-bit samples (modes ``I;16*``, and ``I`` as older Pillow opens 16-bit PNGs) are
    scaled from ``[0, 65535]``; they are not clipped at 255. Float images (mode ``F``) are
    taken as ``[0, 1]`` when their maximum is at most 1, else as ``[0, 255]``.
    """
    arr = np.asarray(img)
    if img.mode == 'F':
        arr = arr.astype(np.float64)
        if np.nanmax(arr) <= 1.0:
            arr = arr * 255.0
        arr = np.clip(np.nan_to_num(arr), 0, 255).round().astype(np.uint8)
    else:
        arr = _scale_to_uint8(arr, 65535)
    return Image.fromarray(arr, mode='L')


def pil_to_rgb(img: Image.Image, alpha: str = 'drop') -> Image.Image:
    """Convert a PIL image of any common mode to 8-bit ``RGB``.

    Args:
        img (PIL.Image.Image): A loaded image: ``1``, ``L``, ``P``, ``RGB``, ``RGBA``,
            ``LA``, ``PA``, ``CMYK``, ``YCbCr``, ``I;16``, ``I`` or ``F``.
        alpha (str): ``'drop'`` keeps the colour values under transparent pixels (what
            OpenCV's ``IMREAD_COLOR`` and timm's ``convert('RGB')`` do); ``'black'``
            composites the image over black (colour x alpha). Defaults to 'drop'.

    Returns:
        PIL.Image.Image: An ``RGB`` image of the same size.
    """
    if img.mode in _UINT16_MODES or img.mode in ('I', 'F'):
        img = _high_depth_to_l(img)
    has_alpha = img.mode in _ALPHA_MODES or (
        img.mode in ('P', 'L', 'RGB') and 'transparency' in img.info)
    if alpha == 'black' and has_alpha:
        rgba = np.asarray(img.convert('RGBA')).astype(np.uint32)
        rgb = (rgba[..., :3] * rgba[..., 3:] + 127) // 255
        return Image.fromarray(rgb.astype(np.uint8), mode='RGB')
    if img.mode == 'RGB':
        return img
    # CMYK (incl. Adobe-inverted JPEGs, which Pillow un-inverts on load), YCbCr, 1, L, P,
    # LA, RGBA ...: Pillow's own conversion; alpha, if any, is dropped.
    return img.convert('RGB')


@TRANSFORMS.register_module()
class LoadImageFromFileSafe(LoadImageFromFile):
    """Load an image robustly; a drop-in replacement for mmcv's ``LoadImageFromFile``.

    Decoding goes through Pillow and always yields an 8-bit BGR ``(H, W, 3)`` array, the
    same layout as ``LoadImageFromFile`` with OpenCV (so ``to_rgb=True`` data
    preprocessors keep working). Grayscale and 1-bit images are replicated to 3 channels;
    palette PNGs are expanded; RGBA / LA / PA lose their alpha (or are composited over
    black with ``alpha='black'``); CMYK JPEGs are converted to RGB; 16-bit PNGs are
    scaled from ``[0, 65535]`` to ``[0, 255]`` (not clipped); the EXIF orientation is
    applied, as OpenCV does.

    Broken files (truncated or corrupt JPEG/PNG, a non-image file with an image suffix,
    an empty file, an image over Pillow's decompression-bomb limit):

    - ``fail_on_error=False`` (default): a ``UserWarning`` naming the file is emitted
      and ``None`` is returned. mmengine's ``BaseDataset`` then fetches another random
      sample in training; in test mode it raises (no sample is ever silently dropped
      from an evaluation), but its message does not name the file, so
    - ``fail_on_error=True`` (set it in val/test pipelines): a ``RuntimeError`` naming
      the file is raised at once.

    A missing file is a configuration error, not a bad image: it raises a
    ``FileNotFoundError`` naming the path unless ``ignore_empty=True``, in which case it
    is skipped with a warning like a broken file.

    If ``results`` already holds an ``img`` array and no ``img_path`` (inference on
    arrays), the array is only normalised: ``(H, W)`` and ``(H, W, 1)`` become 3
    channels, a 4th (alpha) channel is dropped, ``uint16`` is scaled to ``uint8``.

    Required Keys:

    - img_path (or img)

    Modified Keys:

    - img
    - img_shape
    - ori_shape

    Args:
        to_float32 (bool): Return a float32 array instead of uint8. Defaults to False.
        color_type (str): ``'color'`` for ``(H, W, 3)`` BGR or ``'grayscale'`` for
            ``(H, W)``. Defaults to 'color'.
        ignore_empty (bool): Skip (warn, return None) instead of raising when the file
            does not exist. Defaults to False.
        fail_on_error (bool): Raise instead of skipping when a file cannot be decoded.
            Defaults to False.
        alpha (str): ``'drop'`` or ``'black'``, see :func:`pil_to_rgb`.
            Defaults to 'drop'.
        imdecode_backend (str): Accepted for config compatibility with
            ``LoadImageFromFile``; only ``'pillow'`` and ``'cv2'`` are allowed and both
            decode with Pillow. Defaults to 'pillow'.
        backend_args (dict, optional): mmengine file backend arguments, as in
            ``LoadImageFromFile``. Defaults to None.
    """

    def __init__(self,
                 to_float32: bool = False,
                 color_type: str = 'color',
                 ignore_empty: bool = False,
                 fail_on_error: bool = False,
                 alpha: str = 'drop',
                 imdecode_backend: str = 'pillow',
                 *,
                 backend_args: Optional[dict] = None) -> None:
        if color_type not in _COLOR_TYPES:
            raise ValueError(f'color_type must be one of {_COLOR_TYPES}, got {color_type!r}')
        if alpha not in _ALPHA_CHOICES:
            raise ValueError(f'alpha must be one of {_ALPHA_CHOICES}, got {alpha!r}')
        if imdecode_backend not in ('pillow', 'cv2'):
            raise ValueError("LoadImageFromFileSafe decodes with Pillow; imdecode_backend "
                             f"must be 'pillow' or 'cv2', got {imdecode_backend!r}")
        super().__init__(to_float32=to_float32, color_type=color_type,
                         imdecode_backend='pillow', ignore_empty=ignore_empty,
                         backend_args=backend_args)
        self.fail_on_error = fail_on_error
        self.alpha = alpha

    def transform(self, results: dict) -> Optional[dict]:
        """Load ``results['img_path']`` (or normalise ``results['img']``).

        Args:
            results (dict): Result dict from the dataset.

        Returns:
            dict | None: ``results`` with ``img`` ``(H, W, 3)`` BGR (or ``(H, W)``),
            ``img_shape`` and ``ori_shape``; None for a skipped broken file.
        """
        filename = results.get('img_path')
        if filename is None and isinstance(results.get('img'), np.ndarray):
            img = self._normalise_array(results['img'])
        else:
            if filename is None:
                raise KeyError('LoadImageFromFileSafe needs results["img_path"] '
                               '(or an "img" array)')
            try:
                img_bytes = fileio.get(filename, backend_args=self.backend_args)
            except FileNotFoundError as e:
                if self.ignore_empty:
                    warnings.warn(f'Skipping missing image file {filename!r}')
                    return None
                raise FileNotFoundError(f'Image file not found: {filename!r}') from e
            try:
                img = self._decode(img_bytes)
            except Exception as e:  # Pillow raises OSError, SyntaxError, ValueError, ...
                reason = ('not a recognised image format'
                          if isinstance(e, UnidentifiedImageError) else
                          f'{type(e).__name__}: {e}')
                if self.fail_on_error:
                    raise RuntimeError(
                        f'Cannot decode image file {filename!r} ({reason})') from e
                warnings.warn(f'Skipping image file {filename!r} that cannot be decoded '
                              f'({reason})')
                return None
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def _decode(self, img_bytes: bytes) -> np.ndarray:
        """Decode bytes to a BGR ``(H, W, 3)`` (or ``(H, W)`` grayscale) uint8 array."""
        with io.BytesIO(img_bytes) as buff:
            img = Image.open(buff)
            img.load()  # decode now: truncated data raises here
            try:
                img = ImageOps.exif_transpose(img)
            except Exception:  # a broken EXIF block must not lose a decodable image
                pass
            rgb = pil_to_rgb(img, self.alpha)
        if rgb.width == 0 or rgb.height == 0:
            raise ValueError(f'zero-size image ({rgb.width}x{rgb.height})')
        if self.color_type == 'grayscale':
            return np.array(rgb.convert('L'))
        # cv2 makes a fresh, writable BGR array ~40x faster than a numpy ::-1 copy
        return cv2.cvtColor(np.asarray(rgb), cv2.COLOR_RGB2BGR)

    def _normalise_array(self, img: np.ndarray) -> np.ndarray:
        """Bring an in-memory array to the layout this transform outputs."""
        if img.dtype == np.uint16:
            img = _scale_to_uint8(img, 65535)
        if img.ndim == 3 and img.shape[2] == 1:
            img = img[..., 0]
        if img.ndim == 3 and img.shape[2] == 4:
            img = img[..., :3]
        if self.color_type == 'grayscale':
            if img.ndim == 3:  # BGR -> luma (ITU-R 601)
                img = (img[..., 0] * 0.114 + img[..., 1] * 0.587
                       + img[..., 2] * 0.299).round().astype(img.dtype)
            return img
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        return img

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(to_float32={self.to_float32}, '
                f"color_type='{self.color_type}', ignore_empty={self.ignore_empty}, "
                f"fail_on_error={self.fail_on_error}, alpha='{self.alpha}', "
                f'backend_args={self.backend_args})')
