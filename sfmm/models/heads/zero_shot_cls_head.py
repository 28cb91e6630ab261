"""Zero-shot classification with a CLIP text tower: image embedding vs. prompt class embeddings.

Paper: "Bootstrapping SparseFormers from Vision Foundation Models", sec. 4.2
(https://arxiv.org/abs/2312.01987): a CLIP-bootstrapped SparseFormer outputs CLIP's image
embedding, and ImageNet-1K is classified zero-shot with CLIP's frozen text tower.
"""
from typing import Callable, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule

from sfmm.models.utils.clip_text import resolve_clip_text_cfg
from sfmm.registry import MODELS

Tensor = torch.Tensor


def _named_classnames(name: str) -> List[str]:
    if name == 'imagenet':
        from open_clip.zero_shot_metadata import IMAGENET_CLASSNAMES
        return list(IMAGENET_CLASSNAMES)
    raise ValueError(f"unknown class-name set {name!r}; use 'imagenet' or a list of names")


def _named_templates(name: str) -> List[Callable[[str], str]]:
    from open_clip import zero_shot_metadata as meta
    sets = dict(openai_imagenet=meta.OPENAI_IMAGENET_TEMPLATES,
                simple_imagenet=meta.SIMPLE_IMAGENET_TEMPLATES)
    if name not in sets:
        raise ValueError(f'unknown template set {name!r}; use one of {sorted(sets)} or a list '
                         "of strings with a '{}' placeholder")
    return list(sets[name])


@MODELS.register_module()
class ZeroShotClsHead(BaseModule):
    """Zero-shot classifier: ``logit_scale * normalize(image_emb) @ class_emb.T``.

    The class embeddings are CLIP text embeddings of every ``template(classname)`` prompt,
    L2-normalised per prompt, averaged per class and normalised again (CLIP's recipe). They
    are encoded once, without gradients, by :meth:`encode_classes` (called by
    :meth:`init_weights` and :meth:`init_unsaved_weights`, which ``sfmm.Runner`` runs after
    loading a checkpoint for testing) or set with :meth:`set_class_embeddings`, and cached in a
    non-persistent buffer of shape ``(num_classes, E)``. :meth:`forward` never encodes: it
    raises if they are missing.

    The text tower is ``text_encoder`` (``sfmm.CLIPTextEncoder``, weights from its own
    ``init_cfg``), built by :meth:`encode_classes` and freed afterwards: it is not part of the
    module tree, the state dict or the image model's parameters.

    The head does not train: :meth:`loss` raises.

    Args:
        text_encoder (dict): The text tower config, e.g. ``dict(type='sfmm.CLIPTextEncoder',
            model_name='ViT-B-16', init_cfg=dict(type='sfmm.Pretrained', checkpoint=...))``
            (``type`` defaults to ``'sfmm.CLIPTextEncoder'``).
        classnames (str | Sequence[str]): class names, or ``'imagenet'`` for open_clip's
            ImageNet-1K names. Defaults to 'imagenet'.
        templates (str | Sequence[str]): prompt templates with a ``'{}'`` placeholder, or a
            named set: ``'openai_imagenet'`` (CLIP's 80) or ``'simple_imagenet'``.
            Defaults to 'openai_imagenet'.
        logit_scale (float, optional): scale of the cosine logits; None = the text encoder
            file's ``exp(logit_scale)`` (100 for OpenAI CLIP, and when it has none).
            Defaults to None.
        batch_size (int): prompts encoded per text-tower forward. Defaults to 500.
        init_cfg (dict, optional): unused (the text encoder has its own). Defaults to None.
    """

    def __init__(self,
                 text_encoder: dict,
                 classnames: Union[str, Sequence[str]] = 'imagenet',
                 templates: Union[str, Sequence[str]] = 'openai_imagenet',
                 logit_scale: Optional[float] = None,
                 batch_size: int = 500,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.text_encoder_cfg = dict(text_encoder)
        self.text_encoder_cfg.setdefault('type', 'sfmm.CLIPTextEncoder')
        model_cfg, _ = resolve_clip_text_cfg(self.text_encoder_cfg.get('model_name', 'ViT-B-16'),
                                             self.text_encoder_cfg.get('model_cfg'))
        self.embed_dims = int(model_cfg['embed_dim'])
        self.classnames = (_named_classnames(classnames) if isinstance(classnames, str)
                           else list(classnames))
        if isinstance(templates, str):
            self.templates = _named_templates(templates)
        else:
            self.templates = [t.format for t in templates]
        if not self.classnames or not self.templates:
            raise ValueError('classnames and templates must not be empty')
        self.num_classes = len(self.classnames)
        self.logit_scale = logit_scale
        self.batch_size = batch_size
        self.register_buffer('class_embeddings', torch.empty(0, self.embed_dims),
                             persistent=False)

    # ------------------------------------------------------------------ text side
    def init_weights(self) -> None:
        """Encode the class embeddings (reads the text encoder's file)."""
        super().init_weights()
        self.init_unsaved_weights()

    def init_unsaved_weights(self) -> None:
        """Encode the class embeddings unless they are set (they are never in checkpoints)."""
        if self.class_embeddings.numel() == 0:
            self.set_class_embeddings(self.encode_classes(self.class_embeddings.device))

    @torch.no_grad()
    def encode_classes(self, device: Optional[torch.device] = None) -> Tensor:
        """Build the text encoder, read its weights, encode every prompt, free the encoder.

        Sets :attr:`logit_scale` from the encoder's file if it was None.

        Args:
            device (torch.device, optional): where to run the tower. Defaults to CPU.

        Returns:
            Tensor: ``(num_classes, E)`` L2-normalised class embeddings.
        """
        device = torch.device('cpu') if device is None else torch.device(device)
        encoder = MODELS.build(self.text_encoder_cfg)
        encoder.init_weights()
        encoder.to(device)
        if self.logit_scale is None:
            self.logit_scale = float(encoder.logit_scale.float().exp())
        prompts = [t(c) for c in self.classnames for t in self.templates]
        per_prompt = encoder.encode(prompts, self.batch_size)
        del encoder
        per_class = per_prompt.view(self.num_classes, len(self.templates), -1).mean(dim=1)
        return F.normalize(per_class, dim=-1)

    def set_class_embeddings(self, embeddings: Tensor) -> None:
        """Cache class embeddings ``(num_classes, E)`` (normalised here)."""
        if tuple(embeddings.shape) != (self.num_classes, self.embed_dims):
            raise ValueError(f'class embeddings must be {(self.num_classes, self.embed_dims)}, '
                             f'got {tuple(embeddings.shape)}')
        self.class_embeddings = F.normalize(embeddings.detach().float(), dim=-1).to(
            self.class_embeddings.device)

    # ------------------------------------------------------------------ image side
    def pre_logits(self, feats: Tuple[Tensor, ...]) -> Tensor:
        """The last backbone output (the image embedding), L2-normalised: ``(B, E)``."""
        return F.normalize(feats[-1], dim=-1)

    def forward(self, feats: Tuple[Tensor, ...]) -> Tensor:
        """Backbone outputs (last: ``(B, E)`` embedding) -> logits ``(B, num_classes)``."""
        image = self.pre_logits(feats)
        if self.class_embeddings.numel() == 0:
            raise RuntimeError(f'{type(self).__name__} has no class embeddings: call '
                               'init_weights() (sfmm.Runner does), encode_classes() or '
                               'set_class_embeddings() before the forward')
        scale = 100. if self.logit_scale is None else self.logit_scale
        return scale * image @ self.class_embeddings.to(image.dtype).t()

    def loss(self, feats: Tuple[Tensor, ...], data_samples: list, **kwargs) -> dict:
        """Not supported: the zero-shot head has nothing to train."""
        raise NotImplementedError('ZeroShotClsHead is evaluation-only; it has no loss')

    def predict(self, feats: Tuple[Tensor, ...], data_samples: Optional[list] = None
                ) -> list:
        """Scores and labels in mmpretrain ``DataSample`` s (one per image).

        Args:
            feats (tuple[Tensor]): backbone outputs; the last is ``(B, E)``.
            data_samples (list[DataSample], optional): samples to fill. Defaults to None.

        Returns:
            list[DataSample]: with ``pred_score`` (softmax, ``(num_classes,)``) and
            ``pred_label``.
        """
        from mmpretrain.structures import DataSample
        scores = F.softmax(self(feats).float(), dim=1)
        labels = scores.argmax(dim=1, keepdim=True).detach()
        if data_samples is None:
            data_samples = [None] * scores.size(0)
        out = []
        for sample, score, label in zip(data_samples, scores, labels):
            sample = DataSample() if sample is None else sample
            out.append(sample.set_pred_score(score).set_pred_label(label))
        return out
