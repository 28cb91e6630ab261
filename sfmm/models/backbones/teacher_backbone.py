"""A frozen teacher (e.g. a CLIP visual tower) as a backbone, to evaluate the teacher itself."""
from typing import Optional, Tuple

import torch
from mmengine.model import BaseModule

from sfmm.registry import MODELS

Tensor = torch.Tensor


@MODELS.register_module()
class TeacherBackbone(BaseModule):
    """Run a frozen sfmm teacher as a backbone that returns its alignment embedding.

    Paper: "Bootstrapping SparseFormers from Vision Foundation Models", Table 6
    (https://arxiv.org/abs/2312.01987) compares each SparseFormer with its CLIP teacher;
    wrapping the teacher (``sfmm.OpenCLIPTeacher``) lets the same zero-shot and retrieval
    configs evaluate both. The output is the teacher's ``embed`` (for CLIP the image
    embedding after the projection), so heads that read the last backbone output work
    unchanged.

    Weights: :meth:`init_weights` reads the teacher's own file (strictly). ``tools/test.py``
    does not call it; it loads its checkpoint argument, a file with this module's keys
    (``backbone.teacher.*``) as written by ``tools/model_converters/clip_to_sfmm.py``.

    Args:
        teacher (dict): Config of the teacher, e.g.
            ``dict(type='sfmm.OpenCLIPTeacher', model_name='ViT-B-16',
            init_cfg=dict(type='sfmm.Pretrained', checkpoint=...))``.
        init_cfg (dict, optional): Unused (the teacher reads its file). Defaults to None.
    """

    def __init__(self, teacher: dict, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.teacher = MODELS.build(teacher)
        self.out_keys = ('embed', )

    def init_weights(self) -> None:
        """Load the teacher's weights from its checkpoint file."""
        self.teacher.init_weights()
        self._is_init = True

    def forward(self, x: Tensor) -> Tuple[Tensor]:
        """Images ``(B, 3, H, W)`` -> ``(embed, )`` with ``embed`` of shape ``(B, E)``."""
        return (self.teacher(x)['embed'], )
