"""Zero-shot image-text retrieval: a CLIP-aligned image encoder and CLIP's frozen text tower."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine import dist
from mmengine.model import BaseModel

from sfmm.models.utils.clip_text import resolve_clip_text_cfg
from sfmm.registry import MODELS

Tensor = torch.Tensor


def _all_gather_cat(data: Tensor) -> Tensor:
    """Concatenate a tensor over ranks; only the first dimension may differ."""
    if dist.get_world_size() == 1:
        return data
    size = torch.tensor(data.size(0), device=data.device)
    sizes = dist.all_gather(size)
    longest = int(max(sizes))
    if longest > data.size(0):
        pad = data.new_zeros((longest - data.size(0), *data.shape[1:]))
        data = torch.cat([data, pad])
    return torch.cat([t[:int(n)] for t, n in zip(dist.all_gather(data), sizes)])


def _scatter_by_id(values: Tensor, ids: Tensor, total: int) -> Tensor:
    """Put rows ``values[i]`` at ``ids[i]`` of a ``total``-row tensor (duplicates agree)."""
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= total):
        raise ValueError(f'ids must lie in [0, {total}), got [{int(ids.min())}, '
                         f'{int(ids.max())}]')
    out = values.new_zeros((total, *values.shape[1:]))
    seen = torch.zeros(total, dtype=torch.bool, device=values.device)
    out[ids] = values
    seen[ids] = True
    if not bool(seen.all()):
        raise ValueError(f'{int((~seen).sum())} of {total} ids were never seen: the retrieval '
                         'set must be evaluated completely (use a non-dropping sampler)')
    return out


@MODELS.register_module()
class CLIPRetriever(BaseModel):
    """Zero-shot image <-> text retrieval: cosine similarity of CLIP-space embeddings.

    Paper: "Bootstrapping SparseFormers from Vision Foundation Models", sec. 4.2 and Table 6
    (https://arxiv.org/abs/2312.01987). The image embedding is the last output of
    ``backbone`` (a CLIP-bootstrapped ``sfmm.SparseFormer`` with ``out_keys=('embed',)``,
    or ``sfmm.TeacherBackbone`` around the CLIP teacher); captions are embedded by CLIP's
    frozen text tower ``text_encoder`` (``sfmm.CLIPTextEncoder``, weights read strictly from
    its own ``init_cfg``; nothing is downloaded). The tower lives outside the module tree: it
    is built and loaded by :meth:`init_weights` / :meth:`init_unsaved_weights` (which
    ``sfmm.Runner`` runs after loading a checkpoint for testing), is not in the state dict,
    and is never trained.

    Use it with mmpretrain's ``RetrievalTestLoop`` and ``sfmm.RetrievalRecall``: the loop
    collects ``forward(mode='tensor')`` features of the whole set and calls
    :meth:`predict_all`, which ranks every caption for every image (``i2t``) and every
    image for every caption (``t2i``). Items come from ``sfmm.CaptionRetrieval`` (or
    mmpretrain's ``Flickr30kRetrieval``): one image with its captions, ``image_id`` in
    metainfo and ``gt_text_id`` per item.

    Args:
        backbone (dict): Image encoder; its last output is the ``(B, E)`` embedding.
        text_encoder (dict): The text tower config, e.g. ``dict(type='sfmm.CLIPTextEncoder',
            model_name='ViT-B-16', init_cfg=dict(type='sfmm.Pretrained', checkpoint=...))``
            (``type`` defaults to ``'sfmm.CLIPTextEncoder'``; without ``init_cfg`` the tower
            stays random, tests only).
        text_batch_size (int): Captions per text-tower forward. Defaults to 256.
        data_preprocessor (dict, optional): e.g. mmpretrain's ``ClsDataPreprocessor``
            with CLIP's mean / std. Defaults to None.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 backbone: dict,
                 text_encoder: dict,
                 text_batch_size: int = 256,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.text_encoder_cfg = dict(text_encoder)
        self.text_encoder_cfg.setdefault('type', 'sfmm.CLIPTextEncoder')
        text_model_cfg, _ = resolve_clip_text_cfg(
            self.text_encoder_cfg.get('model_name', 'ViT-B-16'),
            self.text_encoder_cfg.get('model_cfg'))
        self.backbone = MODELS.build(backbone)
        self.embed_dims = int(text_model_cfg['embed_dim'])
        self.text_batch_size = text_batch_size
        self._text: Dict[str, object] = {}  # the text encoder, kept out of the module tree

    # ------------------------------------------------------------------ text side
    def init_weights(self) -> None:
        """The backbone's initialisation, then the text encoder (reads its file)."""
        super().init_weights()
        self.init_unsaved_weights()

    def init_unsaved_weights(self) -> None:
        """Build the text encoder and read its weights, once (they are never in checkpoints)."""
        if 'encoder' not in self._text:
            encoder = MODELS.build(self.text_encoder_cfg)
            encoder.init_weights()
            self._text['encoder'] = encoder

    @torch.no_grad()
    def encode_text(self, texts: Sequence[str], device: Optional[torch.device] = None
                    ) -> Tensor:
        """L2-normalised text embeddings ``(T, E)`` of ``texts`` (float32).

        Args:
            texts (Sequence[str]): Captions.
            device (torch.device, optional): Where to run the tower. Defaults to the
                backbone's device.
        """
        if device is None:
            device = next(self.backbone.parameters()).device
        if not texts:
            return torch.zeros(0, self.embed_dims, device=device)
        if 'encoder' not in self._text:
            raise RuntimeError('CLIPRetriever has no text encoder yet: call init_weights() or '
                               'init_unsaved_weights() (sfmm.Runner does) before encoding')
        encoder = self._text['encoder'].to(device)
        return encoder.encode(list(texts), self.text_batch_size)

    # ------------------------------------------------------------------ image side
    def extract_feat(self, inputs: Tensor) -> Tensor:
        """Images ``(B, 3, H, W)`` -> L2-normalised image embeddings ``(B, E)`` (float32)."""
        return F.normalize(self.backbone(inputs)[-1].float(), dim=-1)

    def forward(self, images: Optional[Tensor] = None, data_samples: Optional[list] = None,
                mode: str = 'tensor', inputs: Optional[Tensor] = None):
        """Embed a batch, or retrieve within it.

        Args:
            images (Tensor): Images ``(B, 3, H, W)`` (the key mmpretrain's
                ``MultiModalDataPreprocessor`` outputs).
            inputs (Tensor, optional): Alias of ``images`` (the key of other
                preprocessors). Defaults to None.
            data_samples (list[DataSample], optional): One per image, with ``text`` (its
                captions), ``image_id`` and ``gt_text_id``. Defaults to None.
            mode (str): ``'tensor'``: a dict of ``image_feat (B, E)``, ``image_id (B,)``,
                ``text_count (B,)``, ``text_feat (T, E)`` and ``text_id (T,)`` (what
                ``RetrievalTestLoop`` concatenates); ``'predict'``: image -> text results
                within this batch (see :meth:`predict_all`); ``'loss'`` is not supported.
        """
        if images is None:
            images = inputs
        if images is None:
            raise ValueError('CLIPRetriever.forward needs images')
        inputs = images
        if mode == 'tensor':
            return self._features(inputs, data_samples)
        if mode == 'predict':
            feats = self._features(inputs, data_samples)
            n_img, n_txt = feats['image_feat'].size(0), feats['text_feat'].size(0)
            local = dict(feats, image_id=torch.arange(n_img, device=inputs.device),
                         text_id=torch.arange(n_txt, device=inputs.device))
            return self.predict_all(local, data_samples, n_img, n_txt, cal_t2i=False)[0]
        if mode == 'loss':
            raise NotImplementedError('CLIPRetriever is evaluation-only (frozen encoders)')
        raise RuntimeError(f'Invalid mode "{mode}". Only supports tensor, predict and loss')

    def _features(self, inputs: Tensor, data_samples: Optional[list]) -> Dict[str, Tensor]:
        image = self.extract_feat(inputs)
        device = image.device
        texts, text_ids, counts, image_ids = [], [], [], []
        for i, sample in enumerate(data_samples or []):
            caps = sample.get('text', [])
            caps = [caps] if isinstance(caps, str) else list(caps)
            ids = sample.get('gt_text_id', list(range(len(texts), len(texts) + len(caps))))
            ids = [ids] if isinstance(ids, int) else list(ids)
            if len(ids) != len(caps):
                raise ValueError(f'sample {i}: {len(caps)} captions but {len(ids)} text ids')
            texts += caps
            text_ids += [int(t) for t in ids]
            counts.append(len(caps))
            image_ids.append(int(sample.get('image_id', i)))
        if data_samples is None:
            image_ids = list(range(image.size(0)))
            counts = [0] * image.size(0)
        return dict(
            image_feat=image,
            image_id=torch.tensor(image_ids, dtype=torch.long, device=device),
            text_count=torch.tensor(counts, dtype=torch.long, device=device),
            text_feat=self.encode_text(texts, device),
            text_id=torch.tensor(text_ids, dtype=torch.long, device=device))

    # ------------------------------------------------------------------ ranking
    @torch.no_grad()
    def predict_all(self,
                    feats: Dict[str, Tensor],
                    data_samples: Optional[list] = None,
                    num_images: Optional[int] = None,
                    num_texts: Optional[int] = None,
                    cal_i2t: bool = True,
                    cal_t2i: bool = True) -> Tuple[list, ...]:
        """Rank the whole set: every caption per image and every image per caption.

        Features from all ranks are gathered and placed by ``image_id`` / ``text_id``, so
        any sampler works (padding duplicates collapse). Each rank then returns the
        queries ``rank, rank + W, ...`` (``W`` ranks), the order in which mmengine's
        evaluator interleaves results, padded to equal length with repeats that the
        evaluator trims.

        Args:
            feats (dict): ``forward(mode='tensor')`` outputs concatenated over batches.
            data_samples (list, optional): Unused (the ground truth is rebuilt from the ids
                and caption counts). Defaults to None.
            num_images (int, optional): Images in the set. Defaults to the largest
                ``image_id`` + 1.
            num_texts (int, optional): Captions in the set. Defaults to the largest
                ``text_id`` + 1.
            cal_i2t (bool): Return image -> text results. Defaults to True.
            cal_t2i (bool): Return text -> image results. Defaults to True.

        Returns:
            tuple[list[DataSample]]: ``i2t`` samples (``pred_score (num_texts,)``,
            ``gt_label`` = the image's caption ids) and/or ``t2i`` samples
            (``pred_score (num_images,)``, ``gt_label`` = the caption's image id).
        """
        from mmpretrain.structures import DataSample
        image_feat = _all_gather_cat(feats['image_feat'].float())
        image_id = _all_gather_cat(feats['image_id'])
        text_count = _all_gather_cat(feats['text_count'])
        text_feat = _all_gather_cat(feats['text_feat'].float())
        text_id = _all_gather_cat(feats['text_id'])
        num_images = int(image_id.max()) + 1 if num_images is None else int(num_images)
        num_texts = int(text_id.max()) + 1 if num_texts is None else int(num_texts)
        images = _scatter_by_id(image_feat, image_id, num_images)
        texts = _scatter_by_id(text_feat, text_id, num_texts)
        # caption j belongs to the image whose item listed it
        owner = torch.repeat_interleave(image_id, text_count)
        text_owner = _scatter_by_id(owner.unsqueeze(1), text_id, num_texts).squeeze(1)
        sim = images @ texts.t()  # (num_images, num_texts)

        rank, world = dist.get_rank(), dist.get_world_size()
        results = []
        if cal_i2t:
            out = []
            for q in _my_queries(num_images, rank, world):
                gt = (text_owner == q).nonzero(as_tuple=True)[0]
                out.append(_sample(DataSample, sim[q], gt))
            results.append(out)
        if cal_t2i:
            out = []
            for q in _my_queries(num_texts, rank, world):
                out.append(_sample(DataSample, sim[:, q], text_owner[q:q + 1]))
            results.append(out)
        return tuple(results)


def _my_queries(total: int, rank: int, world: int) -> List[int]:
    mine = list(range(rank, total, world))
    per_rank = -(-total // world)
    while len(mine) < per_rank:  # pad with repeats; the evaluator keeps only `total`
        mine.append(mine[-1] if mine else 0)
    return mine


def _sample(data_sample_cls, score: Tensor, gt: Tensor):
    sample = data_sample_cls()
    sample.set_pred_score(score.clone())
    sample.set_gt_label(gt.cpu())
    return sample


__all__ = ['CLIPRetriever']
