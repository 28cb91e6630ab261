"""The frozen CLIP text tower, shared by ``sfmm.ZeroShotClsHead`` and ``sfmm.CLIPRetriever``."""
import math
from typing import Dict, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from mmengine.model import BaseModule, initialize

from sfmm.models.utils.clip_text import resolve_clip_text_cfg
from sfmm.models.utils.open_clip_towers import build_text_tower
from sfmm.models.utils.weight_init import strict_init_cfg
from sfmm.registry import MODELS
from sfmm.weights import steps

Tensor = torch.Tensor
#: CLIP's logit scale when the weight file has none (OpenAI CLIP's learned value, 100).
DEFAULT_LOGIT_SCALE = 100.


@MODELS.register_module()
class CLIPTextEncoder(BaseModule):
    """A CLIP text tower (open_clip's ``TextTransformer``), frozen, with CLIP's tokenizer.

    Paper: "Bootstrapping SparseFormers from Vision Foundation Models", sec. 4.2
    (https://arxiv.org/abs/2312.01987): a CLIP-bootstrapped SparseFormer is evaluated
    zero-shot against CLIP's frozen text tower. :meth:`encode` gives L2-normalised text
    embeddings; :attr:`logit_scale` holds the file's (log) logit scale.

    The tower is built from open_clip's config of ``model_name`` (e.g. ``'ViT-B-16'``) or an
    explicit ``model_cfg`` (``dict(embed_dim=..., text_cfg=dict(...))``); no file is read in
    ``__init__``. The weights come from ``init_cfg=dict(type='sfmm.Pretrained',
    checkpoint=PATH)`` in :meth:`init_weights`: an OpenAI TorchScript ``.pt`` or a full /
    text-only open_clip state dict, mapped by :meth:`checkpoint_filter_fn` and loaded strictly;
    nothing is downloaded. Without an ``init_cfg`` the tower keeps its random initialisation
    (tests only).

    Args:
        model_name (str): A built-in open_clip model name. Defaults to 'ViT-B-16'.
        model_cfg (dict, optional): open_clip model config used instead of looking
            ``model_name`` up. Defaults to None.
        quick_gelu (bool): QuickGELU in the tower, as the OpenAI weights need.
            Defaults to True.
        init_cfg (dict, optional): ``dict(type='sfmm.Pretrained', checkpoint=PATH)``.
            Defaults to None.
    """

    def __init__(self,
                 model_name: str = 'ViT-B-16',
                 model_cfg: Optional[dict] = None,
                 quick_gelu: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=strict_init_cfg(init_cfg))
        model_cfg, text_cfg = resolve_clip_text_cfg(model_name, model_cfg)
        self.model_name = model_name
        self.embed_dims = int(model_cfg['embed_dim'])
        self.context_length = int(text_cfg.get('context_length', 77))
        self.tower = build_text_tower(self.embed_dims, text_cfg,
                                      quick_gelu or bool(model_cfg.get('quick_gelu', False)))
        self.register_buffer('logit_scale', torch.tensor(math.log(DEFAULT_LOGIT_SCALE)))
        self.how_to_obtain = (
            f'For {model_name}: the OpenAI weights ({model_name}.pt) are listed in '
            "open_clip.pretrained (tag 'openai'), or use open_clip_pytorch_model.bin / "
            'open_clip_model.safetensors from huggingface.co/timm/vit_*_clip_*.openai.')
        self.requires_grad_(False)
        super().train(False)

    def train(self, mode: bool = True) -> 'CLIPTextEncoder':
        """Ignore ``mode``: the text tower stays in eval mode."""
        return super().train(False)

    def init_weights(self) -> None:
        """Read the tower's file (``init_cfg``) strictly; without one, keep the random tower."""
        if self.is_init:
            return
        if self.init_cfg is not None:
            initialize(self, self.init_cfg)
        else:
            print_log(f'{type(self).__name__}: no init_cfg, the text tower is randomly '
                      'initialised (tests only)', logger='current')
        self.is_init = True

    def checkpoint_filter_fn(self, state_dict: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """A full or text-only CLIP state dict -> ``tower.*`` and ``logit_scale``."""
        text, scale = steps.open_clip_text_keys(state_dict)
        out = steps.add_prefix(text, 'tower.')
        out['logit_scale'] = (torch.tensor(math.log(DEFAULT_LOGIT_SCALE)) if scale is None
                              else scale)
        return out

    @torch.no_grad()
    def encode(self, texts: Sequence[str], batch_size: int = 256) -> Tensor:
        """L2-normalised float32 text embeddings ``(T, E)``, on the tower's device.

        Args:
            texts (Sequence[str]): Prompts or captions.
            batch_size (int): Texts per tower forward. Defaults to 256.
        """
        from open_clip.tokenizer import SimpleTokenizer
        tokenizer = SimpleTokenizer(context_length=self.context_length)
        device = self.logit_scale.device
        chunks = []
        with torch.autocast(device_type=device.type, enabled=False):
            for i in range(0, len(texts), batch_size):
                tokens = tokenizer(list(texts[i:i + batch_size])).to(device)
                chunks.append(F.normalize(self.tower(tokens).float(), dim=-1))
        if not chunks:
            return torch.zeros(0, self.embed_dims, device=device)
        return torch.cat(chunks)

    def forward(self, texts: Sequence[str]) -> Tensor:
        """Texts -> L2-normalised embeddings ``(T, E)`` (see :meth:`encode`)."""
        return self.encode(texts)


__all__ = ['CLIPTextEncoder', 'DEFAULT_LOGIT_SCALE']
