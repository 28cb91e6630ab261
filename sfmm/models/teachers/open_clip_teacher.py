"""A CLIP visual tower (built by open_clip) as a frozen bootstrapping teacher."""
from typing import Dict, Optional, Sequence, Tuple

import torch

from sfmm.models.utils.open_clip_towers import build_vision_tower
from sfmm.registry import MODELS
from sfmm.weights import steps
from .base_teacher import BaseTeacher

Tensor = torch.Tensor

OPENAI_CLIP_MEAN = (122.770938, 116.7460125, 104.09373615)  # 0.48145466, ... x 255
OPENAI_CLIP_STD = (68.5005327, 66.6321579, 70.32316305)  # 0.26862954, ... x 255


@MODELS.register_module()
class OpenCLIPTeacher(BaseTeacher):
    """The visual tower of a CLIP model, from a local file; only the image side is built.

    The alignment embedding is the image embedding after CLIP's projection (``ln_post`` on
    [CLS], then ``@ proj``), the space the text tower is aligned with (paper sec. 4.2).

    The tower is built from open_clip's own model config (``open_clip.get_model_config``,
    e.g. ``'ViT-B-16'``, ``'ViT-L-14'``, ``'ViT-L-14-336'``, any built-in open_clip name) or from
    an explicit ``model_cfg`` (``dict(embed_dim=..., vision_cfg=dict(...))``), with no
    pretrained tag. The file of ``init_cfg=dict(type='sfmm.Pretrained', checkpoint=PATH)`` may
    be an OpenAI TorchScript ``.pt``, a full open_clip state dict (``visual.*`` keys; text-tower
    keys are ignored) in ``.pt``/``.bin``/``.pth`` or ``.safetensors``, or a visual-only state
    dict (:func:`sfmm.weights.steps.open_clip_visual_keys`). The visual keys are loaded
    strictly.

    Args:
        model_name (str): open_clip model name. Defaults to 'ViT-B-16'.
        model_cfg (dict, optional): Model config used instead of looking ``model_name`` up.
            Defaults to None.
        quick_gelu (bool): Use QuickGELU, as the OpenAI weights need. Defaults to True.
        mean (Sequence[float]): Input mean, 0-255 scale. Defaults to OpenAI CLIP's.
        std (Sequence[float]): Input std, 0-255 scale. Defaults to OpenAI CLIP's.
        input_size (int, optional): Input size; None = the tower's ``image_size``.
            Defaults to None.
        init_cfg (dict, optional): ``dict(type='sfmm.Pretrained', checkpoint=PATH)``, the
            local weight file. Defaults to None.
    """

    layout = 'open_clip'

    def __init__(self,
                 model_name: str = 'ViT-B-16',
                 model_cfg: Optional[dict] = None,
                 quick_gelu: bool = True,
                 mean: Sequence[float] = OPENAI_CLIP_MEAN,
                 std: Sequence[float] = OPENAI_CLIP_STD,
                 input_size: Optional[int] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(mean, std, input_size, init_cfg)
        import open_clip
        if ':' in model_name:
            raise ValueError(f'model_name {model_name!r}: hub names are not allowed (nothing is '
                             'downloaded); use a built-in open_clip name or model_cfg')
        cfg = model_cfg if model_cfg is not None else open_clip.get_model_config(model_name)
        if cfg is None:
            raise ValueError(f'unknown open_clip model {model_name!r}; known: '
                             f'{open_clip.list_models()}')
        self.model_name = model_name
        self.embed_dims = cfg['embed_dim']
        self.visual = build_vision_tower(
            cfg['embed_dim'], cfg['vision_cfg'],
            quick_gelu=quick_gelu or cfg.get('quick_gelu', False))
        self.how_to_obtain = (
            f'For {model_name}: the OpenAI weights ({model_name}.pt) are listed in '
            "open_clip.pretrained (tag 'openai'), or use open_clip_pytorch_model.bin / "
            'open_clip_model.safetensors from huggingface.co/timm/vit_*_clip_*.openai, fetched '
            'on a machine with network access.')
        self.freeze()

    def checkpoint_filter_fn(self, state_dict: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """A full or visual-only CLIP state dict -> this module's ``visual.*`` keys."""
        return steps.add_prefix(steps.open_clip_visual_keys(state_dict), 'visual.')

    def inheritable_state_dict(self) -> Tuple[Dict[str, Tensor], str]:
        return self.visual.state_dict(), self.layout

    def _forward(self, x: Tensor, with_logits: bool) -> Dict[str, Tensor]:
        x = self.prepare(x, self.visual.image_size)
        return dict(embed=self.visual(x))
