"""sfmm's SparseFormers as timm models: entrypoints, pretrained cfgs and the checkpoint filter.

Papers: "Bootstrapping SparseFormers from Vision Foundation Models", CVPR 2024
(https://arxiv.org/abs/2312.01987) and "SparseFormer: Sparse Visual Recognition via Limited
Latent Tokens", ICLR 2024 (https://arxiv.org/abs/2304.03768).

Each entrypoint builds the backbone the matching sfmm config builds (the same class,
``sfmm.SparseFormer`` or ``sfmm.SparseFormerV1``, with the same arguments; the config named
in each pretrained cfg's ``description``) plus a Linear classifier in place of mmpretrain's
``LinearClsHead``, so a checkpoint of that config gives the same logits. Configs are not read
at creation time (they are not installed with the package); the arguments are written out
in :data:`BACKBONES`.

No pretrained cfg names a URL or hub id: weights are always a local file,
``timm.create_model(name, pretrained=True, pretrained_cfg_overlay=dict(file=PATH))``. timm
reads it (``torch.load(weights_only=True)`` or safetensors) and :func:`checkpoint_filter_fn`
maps sfmm's keys (``backbone.*`` kept, ``head.fc.*`` -> ``head.*``; released
showlab/sparseformer files converted first) and checks them strictly, naming the file and
the keys at fault. With ``custom_load=True`` in the overlay,
:meth:`SparseFormerTimm.load_pretrained` reads the file with sfmm's own reader instead and
loads it with :func:`sfmm.weights.load_strict`.
"""
import contextlib
import copy
from typing import Any, Dict, List, Optional, Tuple, Union

import torch
from timm.data import (IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD, OPENAI_CLIP_MEAN,
                       OPENAI_CLIP_STD)
from timm.models import build_model_with_cfg, generate_default_cfgs, register_model
from torch import nn

from sfmm.models.backbones import SparseFormer, SparseFormerV1
from sfmm.weights import load_strict, read_checkpoint, steps, unwrap_state_dict

Tensor = torch.Tensor
State = Dict[str, Tensor]

#: Backbone classes by the name a :data:`BACKBONES` entry gives in ``type``.
BACKBONE_TYPES: Dict[str, type] = {'SparseFormer': SparseFormer,
                                   'SparseFormerV1': SparseFormerV1}
#: Checkpoint key prefixes as sfmm's ``ImageClassifier`` names them -> this model's.
KEY_MAP: Tuple[Tuple[str, str], ...] = (('backbone.', 'backbone.'), ('head.fc.', 'head.'))

_AUGREG_MEAN = (0.5, 0.5, 0.5)  # the AugReg ViTs' (and their SparseFormers') mean = std = 0.5
_AUGREG_STD = (0.5, 0.5, 0.5)
_FASHION_CLASSES = ('tshirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt',
                    'sneaker', 'bag', 'boot')


def _v2(arch: Union[str, dict], num_latent_tokens: int, **kwargs: Any) -> dict:
    return dict(type='SparseFormer', arch=arch, num_latent_tokens=num_latent_tokens,
                out_keys=('embed', ), cls_only_last_block=True, **kwargs)


def _v1(arch: str) -> dict:
    return dict(type='SparseFormerV1', arch=arch, out_keys=('embed', ))


#: Backbone arguments of every entrypoint, as the sfmm config in its pretrained cfg's
#: ``description`` gives them (``model.backbone`` without ``type``'s scope).
BACKBONES: Dict[str, dict] = {
    'sparseformer_b_augreg_49': _v2('b-augreg', 48),
    'sparseformer_b_augreg_80': _v2('b-augreg', 79),
    'sparseformer_b_augreg_320_80': _v2('b-augreg', 79),
    'sparseformer_b_augreg_320_100': _v2('b-augreg', 99),
    'sparseformer_l_augreg_49': _v2('l-augreg', 48),
    'sparseformer_l_augreg_80': _v2('l-augreg', 79),
    'sparseformer_l_augreg_320_80': _v2('l-augreg', 79),
    'sparseformer_l_augreg_320_100': _v2('l-augreg', 99),
    'sparseformer_l_augreg_384_49': _v2('l-augreg', 48),
    'sparseformer_l_augreg_384_144': _v2('l-augreg', 143),
    'sparseformer_l_augreg_384_196': _v2('l-augreg', 195),
    'sparseformer_b_clip_49': _v2('b-clip', 48),
    'sparseformer_l_clip_64': _v2('l-clip', 63),
    'sparseformer_l_clip_128': _v2('l-clip', 127),
    'sparseformer_l_clip_336_144': _v2('l-clip', 143),
    'sparseformer_v1_tiny': _v1('tiny'),
    'sparseformer_v1_small': _v1('small'),
    'sparseformer_v1_base': _v1('base'),
    # configs/demo/_base_/archs.py: 15 latent tokens + [CLS], 64x64, a width-128 cortex
    'sparseformer_demo_fashion_16': _v2(
        dict(focus_dims=64, embed_dims=128, num_layers=4, num_heads=2, mlp_ratio=4,
             act='gelu', proj_dims=None),
        15, num_points=16, conv_channels=16, focus_repeats=4, mixing_hidden_dims=64,
        ln_eps=1e-6),
}


def _cfg(config: str, size: int = 224, crop_pct: float = 0.9, mean=_AUGREG_MEAN,
         std=_AUGREG_STD, num_classes: int = 1000, paper: str = 'bootstrap',
         **kwargs: Any) -> dict:
    """A pretrained cfg for the weights an sfmm config (``configs/<config>.py``) evaluates.

    ``crop_pct`` is ``crop / resize`` of the config's test pipeline (``ResizeEdge`` of the
    shorter side, bicubic, then ``CenterCrop``): timm resizes to ``floor(size / crop_pct)``.
    """
    papers = {
        'bootstrap': ('arXiv:2312.01987',
                      'Bootstrapping SparseFormers from Vision Foundation Models'),
        'v1': ('arXiv:2304.03768',
               'SparseFormer: Sparse Visual Recognition via Limited Latent Tokens'),
    }
    paper_ids, paper_name = papers[paper]
    return dict(
        input_size=(3, size, size), crop_pct=crop_pct, crop_mode='center',
        interpolation='bicubic', mean=tuple(mean), std=tuple(std), num_classes=num_classes,
        first_conv='backbone.stem.conv', classifier='head', paper_ids=paper_ids,
        paper_name=paper_name, origin_url='https://github.com/showlab/sparseformer',
        description=f'sfmm configs/{config}.py', **kwargs)


_trained = dict(license='apache-2.0')  # weights trained with sfmm (Apache-2.0)
_clip = dict(mean=OPENAI_CLIP_MEAN, std=OPENAI_CLIP_STD, crop_pct=1.0, num_classes=0,
             **_trained)
_v1_cfg = dict(crop_pct=0.875, mean=IMAGENET_DEFAULT_MEAN, std=IMAGENET_DEFAULT_STD,
               paper='v1', notes=('weights: the released v1 checkpoints of '
                                  'showlab/sparseformer (converted on load)', ))

default_cfgs = generate_default_cfgs({
    'sparseformer_b_augreg_49': _cfg('classification/sf-b_augreg_in1k', **_trained),
    'sparseformer_b_augreg_80': _cfg('classification/sf-b_augreg_80tok_in1k', **_trained),
    'sparseformer_b_augreg_320_80': _cfg('classification/sf-b_augreg_80tok-320px_in1k', 320,
                                         **_trained),
    'sparseformer_b_augreg_320_100': _cfg('classification/sf-b_augreg_100tok-320px_in1k',
                                          320, **_trained),
    'sparseformer_l_augreg_49': _cfg('classification/sf-l_augreg_in1k', **_trained),
    'sparseformer_l_augreg_80': _cfg('classification/sf-l_augreg_80tok_in1k', **_trained),
    'sparseformer_l_augreg_320_80': _cfg('classification/sf-l_augreg_80tok-320px_in1k', 320,
                                         **_trained),
    'sparseformer_l_augreg_320_100': _cfg('classification/sf-l_augreg_100tok-320px_in1k',
                                          320, **_trained),
    'sparseformer_l_augreg_384_49': _cfg('classification/sf-l_augreg-384_in1k', 384, 1.0,
                                         **_trained),
    'sparseformer_l_augreg_384_144': _cfg('classification/sf-l_augreg-384_144tok_in1k', 384,
                                          1.0, **_trained),
    'sparseformer_l_augreg_384_196': _cfg('classification/sf-l_augreg-384_196tok_in1k', 384,
                                          1.0, **_trained),
    'sparseformer_b_clip_49': _cfg('classification/sf-b_clip_in1k-zeroshot', **_clip),
    'sparseformer_l_clip_64': _cfg('classification/sf-l_clip_in1k-zeroshot', **_clip),
    'sparseformer_l_clip_128': _cfg('classification/sf-l_clip_128tok_in1k-zeroshot', **_clip),
    'sparseformer_l_clip_336_144': _cfg('classification/sf-l_clip-336_in1k-zeroshot', 336,
                                        **_clip),
    'sparseformer_v1_tiny': _cfg('classification/sf-v1-t_in1k', **_v1_cfg),
    'sparseformer_v1_small': _cfg('classification/sf-v1-s_in1k', **_v1_cfg),
    'sparseformer_v1_base': _cfg('classification/sf-v1-b_in1k', **_v1_cfg),
    'sparseformer_demo_fashion_16': _cfg('demo/sf-demo_fashion-canvas', 64, 1.0,
                                         num_classes=10, label_names=_FASHION_CLASSES,
                                         **_trained),
})


class SparseFormerTimm(nn.Module):
    """An sfmm SparseFormer backbone and a Linear classifier, with timm's model interface.

    The image embedding is the backbone's ``'embed'`` output: [CLS] after the final norm
    (and CLIP's projection, for the CLIP towers) for ``sfmm.SparseFormer``, the LayerNorm of
    the token mean for ``sfmm.SparseFormerV1``. It is already pooled, so
    :meth:`forward_features` returns ``(B, num_features)`` and :meth:`forward_head` only
    applies dropout and the classifier (mmpretrain's ``LinearClsHead`` is that Linear).

    Args:
        backbone (dict): ``type`` (``'SparseFormer'`` | ``'SparseFormerV1'``) and the
            backbone's arguments (see :data:`BACKBONES`); ``out_keys`` must be ``('embed',)``.
        num_classes (int): Classifier outputs; 0 gives the embedding (no classifier).
            Defaults to 1000.
        in_chans (int): Input channels; the early convolution takes RGB only. Defaults to 3.
        drop_rate (float): Dropout before the classifier. Defaults to 0.
        drop_path_rate (float, optional): The backbone's stochastic depth rate; None keeps
            ``backbone``'s. Defaults to None.
        device (torch.device | str, optional): Where to build the parameters (e.g.
            ``'meta'``). Defaults to None (the current default device).
        dtype (torch.dtype, optional): Parameter dtype. Defaults to None (float32).
    """

    def __init__(self,
                 backbone: dict,
                 num_classes: int = 1000,
                 in_chans: int = 3,
                 drop_rate: float = 0.,
                 drop_path_rate: Optional[float] = None,
                 device: Optional[Union[torch.device, str]] = None,
                 dtype: Optional[torch.dtype] = None) -> None:
        super().__init__()
        if in_chans != 3:
            raise ValueError(f'SparseFormer takes RGB images (in_chans=3), got '
                             f'in_chans={in_chans}')
        cfg = copy.deepcopy(dict(backbone))
        kind = cfg.pop('type', None)
        if kind not in BACKBONE_TYPES:
            raise ValueError(f'backbone type must be one of {sorted(BACKBONE_TYPES)}, got '
                             f'{kind!r}')
        if tuple(cfg.get('out_keys', ('embed', ))) != ('embed', ):
            raise ValueError(f"backbone out_keys must be ('embed',), got {cfg['out_keys']}")
        if drop_path_rate is not None:
            cfg['drop_path_rate'] = drop_path_rate
        self.num_classes = int(num_classes)
        self.in_chans = in_chans
        self.drop_rate = float(drop_rate)
        place = torch.device(device) if device is not None else contextlib.nullcontext()
        with place:
            self.backbone = BACKBONE_TYPES[kind](**cfg)
            proj = getattr(self.backbone, 'proj', None)
            #: Width of the embedding (timm: ``num_features``, ``head_hidden_size``).
            self.num_features = self.head_hidden_size = (
                proj.out_features if proj is not None else self.backbone.embed_dims)
            self.head_drop = nn.Dropout(self.drop_rate)
            self.head = self._new_head(self.num_classes)
        if dtype is not None:
            self.to(dtype)

    def _new_head(self, num_classes: int) -> nn.Module:
        if num_classes <= 0:
            return nn.Identity()
        head = nn.Linear(self.num_features, num_classes)
        if head.weight.device.type != 'meta':  # mmpretrain LinearClsHead's init
            nn.init.normal_(head.weight, std=0.01)
            nn.init.zeros_(head.bias)
        return head

    def get_classifier(self) -> nn.Module:
        """The classifier (``nn.Identity`` when ``num_classes`` is 0)."""
        return self.head

    def reset_classifier(self, num_classes: int, global_pool: Optional[str] = None) -> None:
        """Replace the classifier by a freshly initialised one with ``num_classes`` outputs.

        Args:
            num_classes (int): New number of classes; 0 removes the classifier.
            global_pool (str, optional): Accepted for timm's API; the embedding is already
                pooled, so only None or ``'token'`` are valid. Defaults to None.
        """
        if global_pool not in (None, 'token'):
            raise ValueError(f"SparseFormer reads out one embedding; global_pool must be None "
                             f"or 'token', got {global_pool!r}")
        self.num_classes = int(num_classes)
        ref = next(self.backbone.parameters())
        with torch.device(ref.device):
            self.head = self._new_head(self.num_classes).to(ref.dtype)

    def forward_features(self, x: Tensor) -> Tensor:
        """Images ``(B, 3, H, W)`` (any size) -> embeddings ``(B, num_features)``."""
        return self.backbone(x)[0]

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        """Embeddings ``(B, num_features)`` -> logits ``(B, num_classes)`` (or the
        embeddings after dropout if ``pre_logits``)."""
        x = self.head_drop(x)
        return x if pre_logits else self.head(x)

    def forward(self, x: Tensor) -> Tensor:
        """Images ``(B, 3, H, W)`` -> logits ``(B, num_classes)``, or embeddings
        ``(B, num_features)`` when ``num_classes`` is 0."""
        return self.forward_head(self.forward_features(x))

    def load_pretrained(self, checkpoint_path: str, prefix: str = '') -> None:
        """Load a checkpoint file with sfmm's reader (timm calls it for ``custom_load=True``).

        :func:`sfmm.weights.read_checkpoint` (safetensors, ``.pth`` under sfmm's allow-list,
        URIs), :func:`checkpoint_filter_fn`, then :func:`sfmm.weights.load_strict`.

        Args:
            checkpoint_path (str): Local path or URI.
            prefix (str): Accepted for timm's API; must be ''. Defaults to ''.
        """
        if prefix:
            raise ValueError(f'prefix is not supported, got {prefix!r}')
        state = read_checkpoint(checkpoint_path)
        state = checkpoint_filter_fn(state, self, source=str(checkpoint_path))
        load_strict(self, state, str(checkpoint_path),
                    allow_missing=_classifier_keys(self) if _classifier_changed(self) else ())


def _source_of(model: nn.Module) -> str:
    """Where timm read the weights from, in timm's order of precedence."""
    cfg = getattr(model, 'pretrained_cfg', None) or {}
    if cfg.get('state_dict') is not None:
        return 'the state_dict in pretrained_cfg'
    for key in ('file', 'url', 'hf_hub_id'):
        if cfg.get(key):
            return str(cfg[key])
    return 'checkpoint'


def _classifier_keys(model: nn.Module) -> Tuple[str, ...]:
    cfg = getattr(model, 'pretrained_cfg', None) or {}
    names = cfg.get('classifier') or 'head'
    names = (names, ) if isinstance(names, str) else tuple(names)
    return tuple(f'{n}.{p}' for n in names for p in ('weight', 'bias'))


def _classifier_changed(model: nn.Module) -> bool:
    """Whether the model's class count differs from its pretrained cfg's (timm then drops
    the checkpoint's classifier and keeps the model's new one)."""
    cfg = getattr(model, 'pretrained_cfg', None) or {}
    return 'num_classes' in cfg and getattr(model, 'num_classes', None) != cfg['num_classes']


def _map_keys(state: State) -> State:
    out = {}
    for key, value in state.items():
        for old, new in KEY_MAP:
            if key.startswith(old):
                key = new + key[len(old):]
                break
        out[key] = value
    return out


def checkpoint_filter_fn(state_dict: Dict[str, Any], model: nn.Module,
                         source: Optional[str] = None) -> State:
    """An sfmm checkpoint's state dict -> :class:`SparseFormerTimm` keys, checked strictly.

    In order: wrappers are removed (:func:`sfmm.weights.unwrap_state_dict`); a released
    showlab/sparseformer state dict is converted (:func:`sfmm.weights.steps.convert_released`);
    ``data_preprocessor.*`` buffers are dropped; ``backbone.*`` is kept and ``head.fc.*``
    becomes ``head.*`` (:data:`KEY_MAP`; keys already named this way pass unchanged). If the
    model's ``num_classes`` differs from its pretrained cfg's, the checkpoint's classifier is
    dropped here, by name (timm would drop it next and keep the new head). Every other key
    must then match the model's, name and shape.

    Args:
        state_dict (dict): What timm read from the file (an mmengine checkpoint's
            ``state_dict``, a plain or safetensors state dict).
        model (nn.Module): The :class:`SparseFormerTimm` being loaded.
        source (str, optional): The file, for messages. Defaults to None (the ``file``,
            ``url`` or ``hf_hub_id`` of ``model.pretrained_cfg``).

    Returns:
        dict[str, Tensor]: The state dict to load.

    Raises:
        KeyError: Naming the file, the model and every missing or unexpected key.
        ValueError: Naming the file and every key whose shape differs, or if the file holds
            no state dict.
    """
    source = source or _source_of(model)
    cfg = getattr(model, 'pretrained_cfg', None) or {}
    name = cfg.get('architecture') or type(model).__name__
    try:
        state = unwrap_state_dict(state_dict, source)
    except TypeError as e:  # timm retries a filter that raises TypeError with one argument
        raise ValueError(str(e)) from None
    try:
        state, _ = steps.convert_released(state)
    except (KeyError, ValueError) as e:
        raise KeyError(f'checkpoint {source!r} looks like a released showlab/sparseformer '
                       f'file but does not convert: {e}') from e
    state = _map_keys(steps.mmpretrain_classifier_keys(state))
    own = model.state_dict()
    allowed_missing: Tuple[str, ...] = ()
    if _classifier_changed(model):
        allowed_missing = _classifier_keys(model)
        state = {k: v for k, v in state.items() if k not in allowed_missing}
    missing = [k for k in own if k not in state and k not in allowed_missing]
    unexpected = sorted(k for k in state if k not in own)
    if missing or unexpected:
        raise KeyError(f'checkpoint {source!r} does not match {name}: missing keys {missing}, '
                       f'unexpected keys {unexpected}')
    bad = [k for k, v in state.items() if v.shape != own[k].shape]
    if bad:
        shapes = [f'{k}: checkpoint {tuple(state[k].shape)}, model {tuple(own[k].shape)}'
                  for k in bad]
        hint = (' (the classifier is for another class count: pass num_classes=N)'
                if set(bad) & set(_classifier_keys(model)) else '')
        raise ValueError(f'checkpoint {source!r} does not fit {name}: shapes differ for '
                         f'{shapes}{hint}')
    return state


def _create(variant: str, pretrained: bool = False, **kwargs: Any) -> SparseFormerTimm:
    if kwargs.pop('features_only', False):
        raise ValueError(f'{variant}: features_only is not supported (a SparseFormer has '
                         'no feature pyramid); use forward_features for the embedding')
    kwargs.setdefault('backbone', copy.deepcopy(BACKBONES[variant]))
    return build_model_with_cfg(SparseFormerTimm, variant, pretrained,
                                pretrained_filter_fn=checkpoint_filter_fn, **kwargs)


@register_model
def sparseformer_b_augreg_49(pretrained: bool = False, **kwargs: Any) -> SparseFormerTimm:
    """SF-B AugReg, 48 latent + [CLS] tokens, ImageNet-1K classifier, 224px."""
    return _create('sparseformer_b_augreg_49', pretrained, **kwargs)


@register_model
def sparseformer_b_augreg_80(pretrained: bool = False, **kwargs: Any) -> SparseFormerTimm:
    """SF-B AugReg, 79 latent + [CLS] tokens (continued bootstrap), 224px."""
    return _create('sparseformer_b_augreg_80', pretrained, **kwargs)


@register_model
def sparseformer_b_augreg_320_80(pretrained: bool = False, **kwargs: Any) -> SparseFormerTimm:
    """SF-B AugReg, 79 latent + [CLS] tokens, continued at 320px."""
    return _create('sparseformer_b_augreg_320_80', pretrained, **kwargs)


@register_model
def sparseformer_b_augreg_320_100(pretrained: bool = False, **kwargs: Any) -> SparseFormerTimm:
    """SF-B AugReg, 99 latent + [CLS] tokens, continued at 320px."""
    return _create('sparseformer_b_augreg_320_100', pretrained, **kwargs)


@register_model
def sparseformer_l_augreg_49(pretrained: bool = False, **kwargs: Any) -> SparseFormerTimm:
    """SF-L AugReg (from ViT-L/16-224), 48 latent + [CLS] tokens, 224px."""
    return _create('sparseformer_l_augreg_49', pretrained, **kwargs)


@register_model
def sparseformer_l_augreg_80(pretrained: bool = False, **kwargs: Any) -> SparseFormerTimm:
    """SF-L AugReg, 79 latent + [CLS] tokens (continued bootstrap), 224px."""
    return _create('sparseformer_l_augreg_80', pretrained, **kwargs)


@register_model
def sparseformer_l_augreg_320_80(pretrained: bool = False, **kwargs: Any) -> SparseFormerTimm:
    """SF-L AugReg, 79 latent + [CLS] tokens, continued at 320px."""
    return _create('sparseformer_l_augreg_320_80', pretrained, **kwargs)


@register_model
def sparseformer_l_augreg_320_100(pretrained: bool = False, **kwargs: Any) -> SparseFormerTimm:
    """SF-L AugReg, 99 latent + [CLS] tokens, continued at 320px."""
    return _create('sparseformer_l_augreg_320_100', pretrained, **kwargs)


@register_model
def sparseformer_l_augreg_384_49(pretrained: bool = False, **kwargs: Any) -> SparseFormerTimm:
    """SF-L AugReg (from ViT-L/16-384), 48 latent + [CLS] tokens, 384px."""
    return _create('sparseformer_l_augreg_384_49', pretrained, **kwargs)


@register_model
def sparseformer_l_augreg_384_144(pretrained: bool = False, **kwargs: Any) -> SparseFormerTimm:
    """SF-L AugReg (from ViT-L/16-384), 143 latent + [CLS] tokens, 384px."""
    return _create('sparseformer_l_augreg_384_144', pretrained, **kwargs)


@register_model
def sparseformer_l_augreg_384_196(pretrained: bool = False, **kwargs: Any) -> SparseFormerTimm:
    """SF-L AugReg (from ViT-L/16-384), 195 latent + [CLS] tokens, 384px."""
    return _create('sparseformer_l_augreg_384_196', pretrained, **kwargs)


@register_model
def sparseformer_b_clip_49(pretrained: bool = False, **kwargs: Any) -> SparseFormerTimm:
    """SF-B CLIP image tower (from OpenAI CLIP ViT-B/16), 48 latent + [CLS] tokens: a
    512-d CLIP image embedding (num_classes=0)."""
    return _create('sparseformer_b_clip_49', pretrained, **kwargs)


@register_model
def sparseformer_l_clip_64(pretrained: bool = False, **kwargs: Any) -> SparseFormerTimm:
    """SF-L CLIP image tower (from OpenAI CLIP ViT-L/14), 63 latent + [CLS] tokens: a 768-d
    CLIP image embedding."""
    return _create('sparseformer_l_clip_64', pretrained, **kwargs)


@register_model
def sparseformer_l_clip_128(pretrained: bool = False, **kwargs: Any) -> SparseFormerTimm:
    """SF-L CLIP image tower, 127 latent + [CLS] tokens (continued bootstrap)."""
    return _create('sparseformer_l_clip_128', pretrained, **kwargs)


@register_model
def sparseformer_l_clip_336_144(pretrained: bool = False, **kwargs: Any) -> SparseFormerTimm:
    """SF-L CLIP image tower (from OpenAI CLIP ViT-L/14-336), 143 latent + [CLS] tokens,
    336px."""
    return _create('sparseformer_l_clip_336_144', pretrained, **kwargs)


@register_model
def sparseformer_v1_tiny(pretrained: bool = False, **kwargs: Any) -> SparseFormerTimm:
    """SparseFormer-T (v1, from scratch on ImageNet-1K), 49 latent tokens."""
    return _create('sparseformer_v1_tiny', pretrained, **kwargs)


@register_model
def sparseformer_v1_small(pretrained: bool = False, **kwargs: Any) -> SparseFormerTimm:
    """SparseFormer-S (v1), 64 latent tokens."""
    return _create('sparseformer_v1_small', pretrained, **kwargs)


@register_model
def sparseformer_v1_base(pretrained: bool = False, **kwargs: Any) -> SparseFormerTimm:
    """SparseFormer-B (v1), 81 latent tokens."""
    return _create('sparseformer_v1_base', pretrained, **kwargs)


@register_model
def sparseformer_demo_fashion_16(pretrained: bool = False, **kwargs: Any) -> SparseFormerTimm:
    """The demo student (15 latent + [CLS] tokens, 64x64) on the 10 Fashion-MNIST classes."""
    return _create('sparseformer_demo_fashion_16', pretrained, **kwargs)


#: Every entrypoint this module registers.
MODEL_NAMES: List[str] = list(BACKBONES)

__all__ = ['BACKBONES', 'BACKBONE_TYPES', 'KEY_MAP', 'MODEL_NAMES', 'SparseFormerTimm',
           'checkpoint_filter_fn', 'default_cfgs'] + MODEL_NAMES
