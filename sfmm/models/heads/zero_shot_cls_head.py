"""Zero-shot classification with a CLIP text tower: image embedding vs. prompt class embeddings.

Paper: "Bootstrapping SparseFormers from Vision Foundation Models", sec. 4.2
(https://arxiv.org/abs/2312.01987): a CLIP-bootstrapped SparseFormer outputs CLIP's image
embedding, and ImageNet-1K is classified zero-shot with CLIP's frozen text tower.
"""
from typing import Callable, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import nn

from sfmm.models.utils.clip_text import read_clip_state_dict, resolve_clip_text_cfg
from sfmm.registry import MODELS

Tensor = torch.Tensor

# keys of a full open_clip / OpenAI CLIP state dict that are not part of the text tower
_NON_TEXT_PREFIXES = ('visual.', )
_NON_TEXT_KEYS = ('logit_scale', 'logit_bias', 'input_resolution', 'context_length',
                  'vocab_size', 'attn_mask')


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
    are encoded once, without gradients, on the first forward (or set with
    :meth:`set_class_embeddings`) and cached in a non-persistent buffer of shape
    ``(num_classes, E)``. The text tower lives outside the module tree: it is not in the
    state dict, not counted as a parameter of the image model, and freed once encoded.

    The tower is built from open_clip's config of ``model_name`` (e.g. ``'ViT-B-16'``) or from
    an explicit ``model_cfg`` (``dict(embed_dim=..., text_cfg=dict(...))``). ``checkpoint``
    may be an OpenAI TorchScript ``.pt`` or a full / text-only open_clip state dict; the
    text keys are loaded with ``strict=True`` and nothing is ever downloaded. With
    ``checkpoint=None`` the tower keeps its random initialisation (tests only).

    The head does not train: :meth:`loss` raises.

    Args:
        model_name (str): open_clip model name. Defaults to 'ViT-B-16'.
        classnames (str | Sequence[str]): class names, or ``'imagenet'`` for open_clip's
            ImageNet-1K names. Defaults to 'imagenet'.
        templates (str | Sequence[str]): prompt templates with a ``'{}'`` placeholder, or a
            named set: ``'openai_imagenet'`` (CLIP's 80) or ``'simple_imagenet'``.
            Defaults to 'openai_imagenet'.
        checkpoint (str, optional): local CLIP weight file. Defaults to None.
        model_cfg (dict, optional): open_clip model config used instead of looking
            ``model_name`` up. Defaults to None.
        quick_gelu (bool): QuickGELU in the text tower, as the OpenAI weights need.
            Defaults to True.
        logit_scale (float, optional): scale of the cosine logits; None = ``exp`` of the
            checkpoint's ``logit_scale`` (100 for OpenAI CLIP), or 100. Defaults to None.
        batch_size (int): prompts encoded per text-tower forward. Defaults to 500.
        init_cfg (dict, optional): unused. Defaults to None.
    """

    def __init__(self,
                 model_name: str = 'ViT-B-16',
                 classnames: Union[str, Sequence[str]] = 'imagenet',
                 templates: Union[str, Sequence[str]] = 'openai_imagenet',
                 checkpoint: Optional[str] = None,
                 model_cfg: Optional[dict] = None,
                 quick_gelu: bool = True,
                 logit_scale: Optional[float] = None,
                 batch_size: int = 500,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        model_cfg, text_cfg = resolve_clip_text_cfg(model_name, model_cfg)
        self.model_name = model_name
        self.model_cfg = dict(model_cfg)
        self.embed_dims = int(model_cfg['embed_dim'])
        self.context_length = int(text_cfg.get('context_length', 77))
        self.classnames = (_named_classnames(classnames) if isinstance(classnames, str)
                           else list(classnames))
        if isinstance(templates, str):
            self.templates = _named_templates(templates)
        else:
            self.templates = [t.format for t in templates]
        if not self.classnames or not self.templates:
            raise ValueError('classnames and templates must not be empty')
        self.num_classes = len(self.classnames)
        self.checkpoint = checkpoint
        self.quick_gelu = quick_gelu
        self.logit_scale = logit_scale
        self.batch_size = batch_size
        self.register_buffer('class_embeddings', torch.empty(0, self.embed_dims),
                             persistent=False)

    # ------------------------------------------------------------------ text side
    def build_text_tower(self) -> Tuple[nn.Module, float]:
        """Build the frozen text tower (and load ``checkpoint`` strictly, if given).

        Returns:
            tuple[nn.Module, float]: the tower (eval mode, no grad) and the checkpoint's
            ``exp(logit_scale)`` (100 if it has none).
        """
        from open_clip.model import _build_text_tower
        tower = _build_text_tower(self.embed_dims, self.model_cfg['text_cfg'],
                                  quick_gelu=self.quick_gelu or
                                  self.model_cfg.get('quick_gelu', False))
        scale = 100.
        if self.checkpoint is not None:
            state_dict = read_clip_state_dict(self.checkpoint, 'ZeroShotClsHead')
            if 'logit_scale' in state_dict:
                scale = float(state_dict['logit_scale'].float().exp())
            text_sd = {
                k: v.float() for k, v in state_dict.items()
                if not k.startswith(_NON_TEXT_PREFIXES) and k not in _NON_TEXT_KEYS}
            if text_sd and all(k.startswith('text.') for k in text_sd):
                text_sd = {k[len('text.'):]: v for k, v in text_sd.items()}
            tower.load_state_dict(text_sd, strict=True)
        else:
            print_log(f'{type(self).__name__}: no checkpoint, the text tower is randomly '
                      'initialised (tests only)', logger='current')
        tower.eval().requires_grad_(False)
        return tower, scale

    @torch.no_grad()
    def encode_classes(self, device: Optional[torch.device] = None) -> Tensor:
        """Encode every prompt with the text tower and return the class embeddings.

        Args:
            device (torch.device, optional): where to run the tower. Defaults to CPU.

        Returns:
            Tensor: ``(num_classes, E)`` L2-normalised class embeddings.
        """
        from open_clip.tokenizer import SimpleTokenizer
        device = torch.device('cpu') if device is None else torch.device(device)
        tokenizer = SimpleTokenizer(context_length=self.context_length)
        tower, scale = self.build_text_tower()
        tower.to(device)
        if self.logit_scale is None:
            self.logit_scale = scale
        prompts = [t(c) for c in self.classnames for t in self.templates]
        chunks = []
        with torch.autocast(device_type=device.type, enabled=False):
            for i in range(0, len(prompts), self.batch_size):
                tokens = tokenizer(prompts[i:i + self.batch_size]).to(device)
                chunks.append(F.normalize(tower(tokens).float(), dim=-1))
        per_prompt = torch.cat(chunks).view(self.num_classes, len(self.templates), -1)
        return F.normalize(per_prompt.mean(dim=1), dim=-1)

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
            self.set_class_embeddings(self.encode_classes(image.device))
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
