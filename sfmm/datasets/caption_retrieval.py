"""Image-text retrieval test sets (MS COCO 5k, Flickr30k 1k) from Karpathy-split caption files.

Paper: "Bootstrapping SparseFormers from Vision Foundation Models", sec. 4.2, Table 6
(https://arxiv.org/abs/2312.01987): zero-shot image->text and text->image retrieval.
"""
import os.path as osp
from typing import Any, Dict, List, Sequence, Union

import mmengine
from mmengine.dataset import BaseDataset

from sfmm.registry import DATASETS


def _as_list(captions: Union[str, Sequence[str]]) -> List[str]:
    return [captions] if isinstance(captions, str) else list(captions)


@DATASETS.register_module()
class CaptionRetrieval(BaseDataset):
    """Retrieval evaluation set: each item is one image with all of its captions.

    Two common caption-file layouts are read (both hold the Karpathy splits):

    - the BLIP / LAVIS / clip_benchmark layout, e.g. ``coco_karpathy_test.json`` (5,000 images,
      25,010 captions) or ``flickr30k_test.json`` (1,000 images, 5,000 captions): a list of
      ``{"image": "val2014/COCO_val2014_000000391895.jpg", "caption": [...]}``;
    - Karpathy's own ``dataset_coco.json`` / ``dataset_flickr30k.json``:
      ``{"images": [{"filepath": "val2014", "filename": ..., "split": "test",
      "sentences": [{"raw": ...}, ...]}, ...]}``; only the images of ``split`` are kept.

    Images keep the file order; captions are numbered image by image, in file order, so
    text ``j`` of the whole set is caption ``j`` in reading order. Each item holds
    ``img_path``, ``text`` (the image's captions), ``image_id`` (its index), ``gt_text_id``
    (indices of its captions) and ``gt_image_id`` (its index, once per caption), the fields
    mmpretrain's ``RetrievalTestLoop`` and retrieval models use; :attr:`img_size` and
    :attr:`text_size` count images and captions.

    Args:
        ann_file (str): Caption file, relative to ``data_root``.
        data_root (str): Root of the data set. Defaults to ''.
        data_prefix (str | dict): Image folder (relative to ``data_root``), or
            ``dict(img_path=...)``; image paths in the file are relative to it. Defaults
            to '' (``data_root`` itself).
        split (str): Split kept from a Karpathy ``{"images": [...]}`` file. Defaults to 'test'.
        pipeline (Sequence): Transforms. Defaults to ().
        **kwargs: Other arguments of mmengine's ``BaseDataset`` (``test_mode`` is forced on).
    """

    def __init__(self,
                 ann_file: str,
                 data_root: str = '',
                 data_prefix: Union[str, dict] = '',
                 split: str = 'test',
                 pipeline: Sequence = (),
                 **kwargs: Any) -> None:
        if isinstance(data_prefix, str):
            data_prefix = dict(img_path=data_prefix)
        self.split = split
        self.img_size = 0
        self.text_size = 0
        kwargs['test_mode'] = True
        super().__init__(ann_file=ann_file, data_root=data_root, data_prefix=data_prefix,
                         pipeline=pipeline, **kwargs)

    def _records(self, anno: Any) -> List[Dict[str, Any]]:
        """``(relative image path, captions)`` pairs from either layout."""
        if isinstance(anno, list):
            out = []
            for i, item in enumerate(anno):
                if 'image' not in item or 'caption' not in item:
                    raise KeyError(f'{self.ann_file}: entry {i} lacks "image" / "caption"')
                out.append(dict(path=item['image'], captions=_as_list(item['caption'])))
            return out
        if isinstance(anno, dict) and 'images' in anno:
            out = []
            for img in anno['images']:
                if img.get('split') != self.split:
                    continue
                path = osp.join(img.get('filepath', ''), img['filename'])
                out.append(dict(path=path, captions=[s['raw'] for s in img['sentences']]))
            if not out:
                raise ValueError(f'{self.ann_file}: no image with split {self.split!r}')
            return out
        raise ValueError(f'{self.ann_file}: not a caption file (expected a list of '
                         '{"image", "caption"} or Karpathy\'s {"images": [...]})')

    def load_data_list(self) -> List[dict]:
        """Read the caption file into one item per image (see the class docstring)."""
        anno = mmengine.load(self.ann_file)
        # mmengine leaves an empty prefix unjoined: images then sit right under data_root
        prefix = self.data_prefix.get('img_path', '') or self.data_root or ''
        data_list, text_id = [], 0
        for image_id, rec in enumerate(self._records(anno)):
            if not rec['captions']:
                raise ValueError(f'{self.ann_file}: image {rec["path"]!r} has no caption')
            n = len(rec['captions'])
            data_list.append(dict(
                img_path=osp.join(prefix, rec['path']),
                image_id=image_id,
                text=rec['captions'],
                gt_text_id=list(range(text_id, text_id + n)),
                gt_image_id=[image_id] * n))
            text_id += n
        self.img_size = len(data_list)
        self.text_size = text_id
        return data_list
