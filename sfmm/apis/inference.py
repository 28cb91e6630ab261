"""Build a model from a config + checkpoint and run it on images.

Example::

    from sfmm.apis import init_model, inference_model
    model = init_model('configs/classification/sf-b_augreg_in1k.py', 'sf-b.pth')
    results = inference_model(model, ['cat.jpg', rgb_array])
    results[0]['pred_label'], results[0]['embedding'].shape, results[0]['rois'].shape
"""
import copy
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import MODELS, TRANSFORMS, DefaultScope, init_default_scope
from mmengine.utils import import_modules_from_strings

from sfmm.apis.optimize import optimize_for_inference
from sfmm.weights import init_unsaved_parts, load_model_state, read_checkpoint

ImageInput = Union[str, np.ndarray]


def _load_config(config: Union[str, Config], cfg_options: Optional[dict]) -> Config:
    cfg = Config.fromfile(config) if isinstance(config, str) else copy.deepcopy(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if 'custom_imports' in cfg:
        import_modules_from_strings(**cfg.custom_imports)
    return cfg


def init_model(config: Union[str, Config], checkpoint: Optional[str] = None,
               device: Union[str, torch.device] = 'cpu',
               cfg_options: Optional[dict] = None) -> nn.Module:
    """Build the config's model in eval mode and load ``checkpoint`` strictly.

    Args:
        config (str | Config): A classification or segmentation config.
        checkpoint (str, optional): An mmengine checkpoint (``state_dict`` inside) or a
            plain state dict, read and loaded strictly by :mod:`sfmm.weights`: every model
            key must be present and no extra key is allowed. The ``init_cfg`` files of the
            config are then not read (building reads nothing), except those of parts that
            checkpoints never hold (a zero-shot head's CLIP text tower,
            :func:`sfmm.weights.init_unsaved_parts`). Defaults to None (the config's own
            initialisation, ``init_cfg`` files included).
        device (str | torch.device): Defaults to 'cpu'.
        cfg_options (dict, optional): Overrides merged into the config. Defaults to None.

    Returns:
        nn.Module: The model, with the config attached as ``model.cfg``, after
        :func:`sfmm.apis.optimize_for_inference` (oneDNN Linear kernels for CPU float32
        inference; same parameters and state-dict keys).
    """
    cfg = _load_config(config, cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmengine'))
    model_cfg = copy.deepcopy(cfg.model)
    # as mmengine's Runner does: a top-level data_preprocessor (the mmpretrain convention)
    # fills in the model's
    if cfg.get('data_preprocessor', None) is not None:
        model_cfg.setdefault('data_preprocessor', copy.deepcopy(cfg.data_preprocessor))
    model = MODELS.build(model_cfg)
    if checkpoint is not None:
        loaded = read_checkpoint(checkpoint, unwrap=False)
        load_model_state(model, loaded, checkpoint)
        meta = loaded.get('meta') if isinstance(loaded, dict) else None
        if isinstance(meta, dict) and 'dataset_meta' in meta:
            model.dataset_meta = meta['dataset_meta']
        init_unsaved_parts(model)
    else:
        model.init_weights()
    model.cfg = cfg
    return optimize_for_inference(model.to(device).eval())


def to_uint8_rgb(img: np.ndarray) -> np.ndarray:
    """Bring an array image to (H, W, 3) uint8 RGB.

    Accepts (H, W) grayscale, (H, W, 1), (H, W, 2) gray+alpha, (H, W, 3) RGB and
    (H, W, 4) RGBA (alpha dropped), in uint8, uint16 (scaled by 255/65535), bool or
    float in [0, 1].
    """
    img = np.asarray(img)
    if img.ndim == 2:
        img = img[..., None]
    if img.ndim != 3 or img.shape[2] not in (1, 2, 3, 4) or min(img.shape[:2]) < 1:
        raise ValueError(f'expected an (H, W[, C]) image with C in 1..4, got {img.shape}')
    if img.shape[2] in (2, 4):  # drop alpha
        img = img[..., :-1]
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    if img.dtype == np.uint8:
        return np.ascontiguousarray(img)
    if img.dtype == np.uint16:
        return (img.astype(np.float32) * (255.0 / 65535.0) + 0.5).astype(np.uint8)
    if img.dtype == bool:
        return img.astype(np.uint8) * 255
    if np.issubdtype(img.dtype, np.floating):
        return (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    raise ValueError(f'unsupported image dtype {img.dtype}')


def _test_pipeline(cfg: Config, from_array: bool) -> Compose:
    pipeline = copy.deepcopy(cfg.test_dataloader.dataset.pipeline)
    # annotations are not available at inference time
    pipeline = [t for t in pipeline if 'Annotation' not in t['type']]
    if from_array:
        if 'Load' not in pipeline[0]['type']:
            raise ValueError(f'the test pipeline of {cfg.filename} does not start with a '
                             f'loading transform: {pipeline[0]}')
        pipeline = pipeline[1:]
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', None)):
        return Compose([TRANSFORMS.build(t) for t in pipeline])


def _prepare(model: nn.Module, image: ImageInput) -> dict:
    if isinstance(image, str):
        data = dict(img_path=image)
        return _test_pipeline(model.cfg, from_array=False)(data)
    rgb = to_uint8_rgb(image)
    bgr = np.ascontiguousarray(rgb[..., ::-1])  # OpenMMLab pipelines carry BGR
    data = dict(img=bgr, img_shape=bgr.shape[:2], ori_shape=bgr.shape[:2])
    return _test_pipeline(model.cfg, from_array=True)(data)


def _sparse_outputs(model: nn.Module, inputs: torch.Tensor) -> Dict[str, torch.Tensor]:
    """RoIs, points and (if built) the embedding of a SparseFormer backbone, by name."""
    backbone = getattr(model, 'backbone', None)
    if backbone is None or not hasattr(backbone, 'forward_dict'):
        return {}
    # a segmenter's SparseFormer has no embedding head (final norm / projection)
    outs = backbone.forward_dict(inputs)
    return {k: outs[k] for k in ('rois', 'points', 'embed') if k in outs}


@torch.no_grad()
def inference_model(model: nn.Module, images: Union[ImageInput, Sequence[ImageInput]]
                    ) -> List[dict]:
    """Run a model built by :func:`init_model` on image paths or arrays.

    Args:
        model (nn.Module): From :func:`init_model` (needs ``model.cfg``).
        images (str | np.ndarray | list): Paths (any format the config's loader reads) or
            arrays in RGB order (see :func:`to_uint8_rgb` for accepted layouts).

    Returns:
        list[dict]: One dict per image with, where the model provides them:
        ``pred_score`` (num_classes,), ``pred_label`` (int), ``pred_mask`` (H, W) int64 at
        the input's size (segmenters), ``embedding`` (E,), ``rois`` (R+1, N, 4) and
        ``points`` (N, P, 2) in [0, 1] coordinates of ``input_image``, and
        ``input_image`` ((h, w, 3) uint8 RGB, the network input before normalisation).
    """
    single = isinstance(images, (str, np.ndarray))
    images = [images] if single else list(images)
    device = next(model.parameters()).device
    results = []
    for image in images:
        data = pseudo_collate([_prepare(model, image)])
        samples = model.test_step(data)
        processed = model.data_preprocessor(data, False)
        extra = _sparse_outputs(model, processed['inputs'].to(device))
        raw = data['inputs'][0]
        result = dict(input_image=raw.permute(1, 2, 0).numpy()[..., ::-1].copy())
        sample = samples[0]
        if 'pred_score' in sample:
            result['pred_score'] = sample.pred_score.cpu()
            result['pred_label'] = int(sample.pred_label.item())
        if 'pred_sem_seg' in sample:
            result['pred_mask'] = sample.pred_sem_seg.data[0].cpu().numpy()
        if 'embed' in extra:
            result['embedding'] = extra['embed'][0].cpu()
        if 'rois' in extra:
            result['rois'] = extra['rois'][0].cpu()
            result['points'] = extra['points'][0].cpu()
        results.append(result)
    return results
