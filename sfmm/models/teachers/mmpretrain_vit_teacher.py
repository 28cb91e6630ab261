"""An mmpretrain Vision Transformer classifier as a frozen bootstrapping teacher."""
from typing import Dict, Optional, Sequence, Tuple

import torch

from sfmm.registry import MODELS
from sfmm.weights import steps
from .base_teacher import BaseTeacher

Tensor = torch.Tensor


@MODELS.register_module()
class MMPretrainViTTeacher(BaseTeacher):
    """An mmpretrain ``VisionTransformer`` + ``VisionTransformerClsHead`` from a local file.

    Reads the checkpoints of the mmpretrain model zoo (``backbone.layers.{i}.ln1`` ...,
    ``backbone.ln1``, ``head.layers.head``) from ``init_cfg``, strictly (the data
    preprocessor's buffers are the only keys skipped,
    :func:`sfmm.weights.steps.mmpretrain_classifier_keys`). The alignment embedding is the [CLS]
    token after the final norm, passed through the head's ``pre_logits`` (the identity for a
    single-Linear head); ``with_logits=True`` also returns the head's logits.

    Args:
        arch (str | dict): mmpretrain ViT arch (``'b'``, ``'l'``, ... or a dict).
            Defaults to 'b'.
        img_size (int): Input size. Defaults to 224.
        patch_size (int): Patch size. Defaults to 16.
        num_classes (int): Classifier size. Defaults to 1000.
        backbone (dict, optional): Extra ``VisionTransformer`` arguments (e.g.
            ``pre_norm=True`` for CLIP-converted weights). ``out_type`` and ``final_norm`` are
            fixed to ``'cls_token'`` and ``True``. Defaults to None.
        head (dict, optional): Extra ``VisionTransformerClsHead`` arguments. Defaults to None.
        mean (Sequence[float]): Input mean, 0-255 scale. Defaults to (127.5,)*3.
        std (Sequence[float]): Input std, 0-255 scale. Defaults to (127.5,)*3.
        input_size (int, optional): Input size; None = ``img_size``. Defaults to None.
        init_cfg (dict, optional): ``dict(type='sfmm.Pretrained', checkpoint=PATH)``, a local
            mmpretrain checkpoint (``.pth``, optionally under ``state_dict``).
            Defaults to None.
    """

    layout = 'mmpretrain'
    how_to_obtain = ('Download the checkpoint from the mmpretrain model zoo (see '
                     'configs/vision_transformer/README.md in open-mmlab/mmpretrain).')

    def __init__(self,
                 arch='b',
                 img_size: int = 224,
                 patch_size: int = 16,
                 num_classes: int = 1000,
                 backbone: Optional[dict] = None,
                 head: Optional[dict] = None,
                 mean: Sequence[float] = (127.5, 127.5, 127.5),
                 std: Sequence[float] = (127.5, 127.5, 127.5),
                 input_size: Optional[int] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(mean, std, input_size, init_cfg)
        from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
        self.img_size = img_size
        b_cfg = dict(type='VisionTransformer', arch=arch, img_size=img_size,
                     patch_size=patch_size, **(backbone or {}))
        b_cfg.update(out_type='cls_token', final_norm=True)
        self.backbone = MMPRETRAIN_MODELS.build(b_cfg)
        h_cfg = dict(type='VisionTransformerClsHead', num_classes=num_classes,
                     in_channels=self.backbone.embed_dims, **(head or {}))
        self.head = MMPRETRAIN_MODELS.build(h_cfg)
        self.freeze()

    @property
    def has_classifier(self) -> bool:
        return True

    def checkpoint_filter_fn(self, state_dict: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """An mmpretrain ImageClassifier checkpoint: this module's keys already."""
        return steps.mmpretrain_classifier_keys(state_dict)

    def inheritable_state_dict(self) -> Tuple[Dict[str, Tensor], str]:
        return self.state_dict(), self.layout

    def _forward(self, x: Tensor, with_logits: bool) -> Dict[str, Tensor]:
        feats = self.backbone(self.prepare(x, self.img_size))
        out = dict(embed=self.head.pre_logits(feats))
        if with_logits:
            out['logits'] = self.head(feats)
        return out
