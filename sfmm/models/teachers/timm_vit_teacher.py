"""A timm Vision Transformer (e.g. AugReg) as a frozen bootstrapping teacher."""
from typing import Dict, Optional, Sequence, Tuple

import torch

from sfmm.registry import MODELS
from sfmm.weights import steps
from .base_teacher import BaseTeacher

Tensor = torch.Tensor


@MODELS.register_module()
class TimmViTTeacher(BaseTeacher):
    """Any timm ``VisionTransformer`` with [CLS] pooling, read from a local file.

    The alignment embedding is the [CLS] token after the final LayerNorm, before the
    classifier (paper eq. 5, the AugReg case); ``with_logits=True`` also returns the
    classifier's logits (for the KL-distillation ablation, paper Table 3).

    The network is created with ``timm.create_model(model_name, pretrained=False)``; its
    weights come from ``init_cfg=dict(type='sfmm.Pretrained', checkpoint=PATH)`` and are
    loaded strictly (:meth:`checkpoint_filter_fn` maps the file):

    - ``.pth`` / ``.bin`` / ``.pt``: a timm state dict (optionally wrapped under ``model`` or
      ``state_dict``), passed through timm's ``checkpoint_filter_fn``;
    - ``.safetensors``: the same (the files on huggingface.co/timm);
    - ``.npz``: an original AugReg / big_vision JAX checkpoint, mapped by timm's own npz
      loader (:func:`sfmm.weights.steps.timm_npz_keys`); a parameter the archive does not
      provide is an error.

    Paper: https://arxiv.org/abs/2312.01987, sec. 4.1.

    Args:
        model_name (str): A timm ViT name, e.g. ``'vit_base_patch16_224.augreg2_in21k_ft_in1k'``.
        model_kwargs (dict, optional): Extra ``timm.create_model`` arguments (e.g. a tiny
            ``embed_dim`` / ``depth`` for tests). Defaults to None.
        mean (Sequence[float]): Teacher input mean, 0-255 scale. Defaults to AugReg's
            ``(127.5, 127.5, 127.5)``.
        std (Sequence[float]): Teacher input std, 0-255 scale. Defaults to
            ``(127.5, 127.5, 127.5)``.
        input_size (int, optional): Input size; None = the model's ``img_size``.
            Defaults to None.
        init_cfg (dict, optional): ``dict(type='sfmm.Pretrained', checkpoint=PATH)``, the
            local weight file. Defaults to None.
    """

    layout = 'timm'

    def __init__(self,
                 model_name: str,
                 model_kwargs: Optional[dict] = None,
                 mean: Sequence[float] = (127.5, 127.5, 127.5),
                 std: Sequence[float] = (127.5, 127.5, 127.5),
                 input_size: Optional[int] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(mean, std, input_size, init_cfg)
        import timm
        from timm.models.vision_transformer import VisionTransformer
        if ':' in model_name:
            raise ValueError(f'model_name {model_name!r}: hub names are not allowed (nothing is '
                             'downloaded); give a timm architecture name and a local checkpoint')
        self.model_name = model_name
        self.model = timm.create_model(model_name, pretrained=False, **(model_kwargs or {}))
        if not isinstance(self.model, VisionTransformer):
            raise TypeError(f'{model_name} is a {type(self.model).__name__}, not a timm '
                            'VisionTransformer')
        if self.model.global_pool != 'token':
            raise ValueError(f'{model_name} pools with {self.model.global_pool!r}; the bootstrap '
                             "target is the [CLS] token (global_pool='token')")
        self.how_to_obtain = (
            f'For {model_name}: the timm weights are model.safetensors at '
            f'https://huggingface.co/timm/{model_name}; the original AugReg .npz files are '
            'listed in https://github.com/google-research/vision_transformer (gs://vit_models/'
            'augreg/). Both formats load.')
        self.freeze()

    @property
    def has_classifier(self) -> bool:
        return isinstance(self.model.head, torch.nn.Linear)

    def checkpoint_filter_fn(self, state_dict: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """A timm state dict or an AugReg ``.npz`` (JAX names) -> this module's keys."""
        if steps.is_jax_npz(state_dict):
            state_dict = steps.timm_npz_keys(state_dict, self.model)
        else:
            state_dict = steps.timm_vit_keys(state_dict, self.model)
        return steps.add_prefix(state_dict, 'model.')

    def inheritable_state_dict(self) -> Tuple[Dict[str, Tensor], str]:
        return self.model.state_dict(), self.layout

    def _forward(self, x: Tensor, with_logits: bool) -> Dict[str, Tensor]:
        x = self.prepare(x, self.model.patch_embed.img_size)
        feats = self.model.forward_features(x)
        embed = self.model.forward_head(feats, pre_logits=True)
        out = dict(embed=embed)
        if with_logits:
            out['logits'] = self.model.head(embed)
        return out
