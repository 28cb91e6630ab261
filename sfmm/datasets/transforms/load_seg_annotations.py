"""mmseg's ``LoadAnnotations`` without its squeeze bug for 1-pixel-high or -wide maps."""
import io

import mmengine.fileio as fileio
from mmseg.datasets.transforms import LoadAnnotations
from PIL import Image

from sfmm.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadSegAnnotations(LoadAnnotations):
    """Load a semantic segmentation map, keeping it 2-D for any image size.

    mmseg 1.2's ``LoadAnnotations`` decodes the map and calls ``.squeeze()``, so the
    map of a 1x4000 (or 4000x1) image becomes a 1-D ``(4000, )`` array and
    ``PackSegInputs`` then fails ("The dim of value must be 2 or 3"). This subclass
    restores the ``(H, W)`` shape, read from the file header, whenever the loaded map is
    not 2-D. Everything else (``reduce_zero_label``, ``label_map``, the decode backend)
    is mmseg's; the arguments are those of ``mmseg.datasets.transforms.LoadAnnotations``
    (``reduce_zero_label=None``, ``backend_args=None``, ``imdecode_backend='pillow'``).
    """

    def _load_seg_map(self, results: dict) -> None:
        """Load ``results['seg_map_path']`` into ``results['gt_seg_map']`` ``(H, W)``.

        Args:
            results (dict): Result dict with ``seg_map_path`` and ``seg_fields``.
        """
        super()._load_seg_map(results)
        seg = results['gt_seg_map']
        if seg.ndim != 2:
            img_bytes = fileio.get(results['seg_map_path'], backend_args=self.backend_args)
            with Image.open(io.BytesIO(img_bytes)) as img:
                w, h = img.size
            if seg.size != h * w:
                raise ValueError(f'Segmentation map {results["seg_map_path"]!r} has '
                                 f'{seg.ndim} dims that do not fit its {h}x{w} size')
            results['gt_seg_map'] = seg.reshape(h, w)
