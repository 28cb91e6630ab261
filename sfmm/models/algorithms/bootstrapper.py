"""Bootstrapping a SparseFormer from a frozen vision foundation model (the paper's algorithm)."""
from typing import Dict, List, Optional, Union

import torch
from mmengine.logging import print_log
from mmengine.model import BaseModel

from sfmm.models.backbones.sparseformer import EMBED_HEAD_PARTS, FOCUSING_PARTS
from sfmm.models.utils.inherit import InheritReport
from sfmm.models.utils.weight_init import has_checkpoint
from sfmm.registry import MODELS
from sfmm.weights import exclude_from_parent_state_dict, load_strict, steps

Tensor = torch.Tensor
# the student's final norm and projection (the SparseFormer's embedding head)
_NORM, _PROJ = EMBED_HEAD_PARTS


@MODELS.register_module()
class Bootstrapper(BaseModel):
    """Bootstrap a SparseFormer (student) from a frozen ViT / CLIP teacher, without labels.

    Paper: "Bootstrapping SparseFormers from Vision Foundation Models",
    https://arxiv.org/abs/2312.01987, sec. 3.2. The student's cortex, final norm and projection
    / classifier are inherited from the teacher (teacher block ``truncate + k`` -> cortex block
    ``k``, see :func:`sfmm.models.utils.inherit.inherit_from_teacher`) and the student learns to
    reproduce the teacher's final embedding: ``loss_align = 1 - cos(student, teacher)``.

    Trainable: the focusing part (everything of the backbone before the cortex, incl. [CLS])
    and the first ``num_tunable`` cortex blocks. Frozen (``requires_grad=False``): the other
    cortex blocks, the final norm, the projection, the classifier head and the teacher.
    Inherited tunable blocks are listed by :meth:`inherited_tunable_names`, which
    ``sfmm.BootstrapOptimWrapperConstructor`` (0.1x lr) and ``sfmm.WarmupFreezeHook`` (frozen in
    the warm-up epoch) use.

    Checkpoints: the teacher's weights are **not** saved and a checkpoint without them loads
    strictly, keeping the teacher that :meth:`init_weights` read from its file
    (:func:`sfmm.weights.exclude_from_parent_state_dict`). A bootstrap checkpoint therefore holds
    ``backbone.*`` and ``head.fc.*`` only, the key names of an mmpretrain ``ImageClassifier``
    with the same backbone and a ``LinearClsHead``: it loads directly into
    ``configs/classification/sf-*_in1k.py``.

    Weights (:mod:`sfmm.weights`), in :meth:`init_weights` (mmengine's runner calls it before
    ``load_from`` / resume): the teacher reads its own file (its ``init_cfg``); then either the
    student inherits from the teacher (``inherit``, this algorithm's step), or, for continued
    bootstrapping, the student backbone and head read a shorter-token bootstrap checkpoint
    through their own ``init_cfg`` (``dict(type='sfmm.Pretrained', checkpoint=...,
    prefix='backbone.', extend_tokens=True)`` and ``prefix='head.'``; the latent tokens are
    extended if the student has more) with ``inherit=None``.

    Args:
        backbone (dict): The student SparseFormer config; its last output must be ``'embed'``.
        teacher (dict): A teacher config (``sfmm.TimmViTTeacher``, ``sfmm.OpenCLIPTeacher``,
            ``sfmm.MMPretrainViTTeacher``).
        head (dict, optional): Classifier head (mmpretrain ``LinearClsHead``) for a classifier
            teacher; inherited and frozen; used by ``'predict'`` and the cls / KL terms.
            Defaults to None.
        inherit (dict, optional): ``dict(truncate=int, reuse_blocks=bool)`` for
            :func:`inherit_from_teacher`; None skips inheritance. Defaults to
            ``dict(truncate=4, reuse_blocks=True)``.
        num_tunable (int, optional): Leading cortex blocks to train; None = all.
            Defaults to 4.
        tune_final_norm (bool, optional): Train the final norm. None = only when it is not
            inherited (``reuse_blocks=False``). Defaults to None.
        align_loss (dict, optional): The alignment loss; None drops it (KL ablation).
            Defaults to ``dict(type='sfmm.CosineAlignLoss')``.
        distill_loss (dict, optional): KL distillation on the head's logits vs the teacher's
            (``sfmm.KLDistillLoss``), logged as ``loss_kl``. Defaults to None.
        cls_loss_weight (float): Weight of the head's supervised loss on ``gt_label``
            (``loss_cls``; needs labels). 0 disables it. Defaults to 0.
        data_preprocessor (dict, optional): Data preprocessor (``mmpretrain.ClsDataPreprocessor``
            when the dict has no ``type``); its mean/std are passed to the teacher so it can
            re-normalise. Defaults to None.
        init_cfg (dict, optional): Unused. Defaults to None.
    """

    def __init__(self,
                 backbone: dict,
                 teacher: dict,
                 head: Optional[dict] = None,
                 inherit: Optional[dict] = dict(truncate=4, reuse_blocks=True),
                 num_tunable: Optional[int] = 4,
                 tune_final_norm: Optional[bool] = None,
                 align_loss: Optional[dict] = dict(type='sfmm.CosineAlignLoss'),
                 distill_loss: Optional[dict] = None,
                 cls_loss_weight: float = 0.,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if isinstance(data_preprocessor, dict) and 'type' not in data_preprocessor:
            # the runner merges a config's top-level ``data_preprocessor`` (mmpretrain style)
            data_preprocessor = dict(data_preprocessor, type='mmpretrain.ClsDataPreprocessor')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        out_keys = getattr(self.backbone, 'out_keys', ('embed',))
        if out_keys[-1] != 'embed':
            raise ValueError(f"the student's last output must be 'embed', got {out_keys}")
        self.teacher = MODELS.build(teacher)
        self.head = MODELS.build(head) if head is not None else None
        self.align_loss = MODELS.build(align_loss) if align_loss is not None else None
        self.distill_loss = MODELS.build(distill_loss) if distill_loss is not None else None
        self.cls_loss_weight = float(cls_loss_weight)
        if self.align_loss is None and self.distill_loss is None and not self.cls_loss_weight:
            raise ValueError('no loss configured: set align_loss, distill_loss or cls_loss_weight')
        if (self.distill_loss is not None or self.cls_loss_weight) and self.head is None:
            raise ValueError('distill_loss / cls_loss_weight need a classifier head')
        if inherit is not None:
            unknown = set(inherit) - {'truncate', 'reuse_blocks'}
            if unknown or 'truncate' not in inherit:
                raise ValueError(
                    f'inherit takes truncate (required) and reuse_blocks, got {inherit}')
        self.inherit_cfg = dict(inherit) if inherit is not None else None
        self.inherit_report: Optional[InheritReport] = None
        student_pretrained = has_checkpoint(self.backbone.init_cfg)
        if student_pretrained and inherit is not None:
            raise ValueError('the student backbone reads a checkpoint (init_cfg) and inherit is '
                             'set: inheriting would overwrite it; use inherit=None to continue '
                             'bootstrapping from a checkpoint')

        reused = student_pretrained or (inherit is not None and inherit.get('reuse_blocks', True))
        if tune_final_norm is None:
            tune_final_norm = not reused
        self._set_trainable(num_tunable, tune_final_norm, reused)
        exclude_from_parent_state_dict(self.teacher)  # re-read from its file, never saved
        preprocessor = self.data_preprocessor
        if getattr(preprocessor, '_enable_normalize', False):
            self.teacher.set_input_normalization(preprocessor.mean.flatten().tolist(),
                                                 preprocessor.std.flatten().tolist())
        else:
            self.teacher.set_input_normalization(None, None)

    # ------------------------------------------------------------------ trainability
    def _set_trainable(self, num_tunable: Optional[int], tune_final_norm: bool,
                       reused: bool) -> None:
        depth = len({n.split('.')[1] for n, _ in self.backbone.named_parameters()
                     if n.startswith('blocks.')})
        num_tunable = depth if num_tunable is None else num_tunable
        if not 0 <= num_tunable <= depth:
            raise ValueError(f'num_tunable={num_tunable} but the cortex has {depth} blocks')
        self.num_tunable = num_tunable
        self._inherited_tunable: List[str] = []
        for name, p in self.backbone.named_parameters():
            top = name.split('.')[0]
            if top == 'blocks':
                p.requires_grad = int(name.split('.')[1]) < num_tunable
                if p.requires_grad and reused:
                    self._inherited_tunable.append('backbone.' + name)
            elif top == _NORM:
                p.requires_grad = tune_final_norm
            elif top == _PROJ:
                p.requires_grad = False
            elif top in FOCUSING_PARTS:  # the focusing part and [CLS]
                p.requires_grad = True
            else:
                raise ValueError(f'student parameter {name!r} is in no SparseFormer part '
                                 f'(focusing {FOCUSING_PARTS}, cortex blocks, '
                                 f'{EMBED_HEAD_PARTS})')
        if self.head is not None:
            self.head.requires_grad_(False)
        self.teacher.requires_grad_(False)

    def inherited_tunable_names(self) -> List[str]:
        """Names (from this module) of trainable parameters that start from pre-trained values."""
        return list(self._inherited_tunable)

    def train(self, mode: bool = True) -> 'Bootstrapper':
        """Set train mode; the frozen head stays in eval mode and the teacher always is."""
        super().train(mode)
        if self.head is not None:
            self.head.train(False)
        return self

    # ------------------------------------------------------------------ weights
    def init_weights(self) -> None:
        """Initialise the student (or read its ``init_cfg`` checkpoint), read the teacher's
        file, then inherit from the teacher."""
        if self._is_init:
            return
        super().init_weights()  # backbone's own init / file, the teacher's file, head init
        if self.inherit_cfg is not None:
            self.inherit_from_teacher()

    def init_unsaved_weights(self) -> None:
        """Read the teacher's file if it has not been (checkpoints never hold the teacher)."""
        if not self.teacher.is_init:
            self.teacher.init_weights()

    def inherit_from_teacher(self) -> InheritReport:
        """Copy the teacher's cortex / norm / projection / classifier into the student.

        The key map is :func:`sfmm.weights.steps.inherit_from_teacher`; the tensors are
        loaded with :func:`sfmm.weights.load_strict`, every student key not inherited (the
        report's ``not_inherited``) keeping its own initialisation.
        """
        t_state, layout = self.teacher.inheritable_state_dict()
        own = self.state_dict()  # teacher keys are left out (exclude_from_parent_state_dict)
        tensors, report = steps.inherit_from_teacher(
            t_state, layout, own, truncate=self.inherit_cfg['truncate'],
            reuse_blocks=self.inherit_cfg.get('reuse_blocks', True),
            backbone_prefix='backbone.', head_prefix='head.fc.' if self.head is not None else None)
        source = f'{type(self.teacher).__name__} ({self.teacher.checkpoint})'
        load_strict(self, tensors, source, allow_missing=report.not_inherited,
                    notes=[f'inherited {len(tensors)} tensors'])
        self.inherit_report = report
        print_log(f'Bootstrapper: weights inherited from {source}\n{report.summary()}',
                  logger='current')
        return report

    # ------------------------------------------------------------------ forward
    def extract_feat(self, inputs: Tensor) -> Tensor:
        """The student's alignment embedding.

        Args:
            inputs (Tensor): ``(B, 3, H, W)`` normalised images.

        Returns:
            Tensor: ``(B, E)``.
        """
        return self.backbone(inputs)[-1]

    def forward(self, inputs: Tensor, data_samples: Optional[list] = None,
                mode: str = 'tensor') -> Union[Dict[str, Tensor], list, Tensor]:
        """mmengine entry point.

        Args:
            inputs (Tensor): ``(B, 3, H, W)`` normalised images.
            data_samples (list, optional): mmpretrain ``DataSample`` s; labels are only read by
                ``loss_cls`` and by the accuracy metric. Defaults to None.
            mode (str): ``'loss'`` (dict of losses), ``'predict'`` (data samples with
                ``pred_score`` / ``pred_label``, needs a head) or ``'tensor'`` (the ``(B, E)``
                student embedding). Defaults to 'tensor'.
        """
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.extract_feat(inputs)
        raise RuntimeError(f'Invalid mode "{mode}"; expected "loss", "predict" or "tensor"')

    def loss(self, inputs: Tensor, data_samples: Optional[list] = None) -> Dict[str, Tensor]:
        """Alignment (and optional KL / supervised) losses; labels are not needed by default."""
        embed = self.extract_feat(inputs)
        target = self.teacher(inputs, with_logits=self.distill_loss is not None)
        losses: Dict[str, Tensor] = {}
        if self.align_loss is not None:
            losses['loss_align'] = self.align_loss(embed, target['embed'])
        if self.distill_loss is not None:
            losses['loss_kl'] = self.distill_loss(self.head((embed, )), target['logits'])
        if self.cls_loss_weight:
            if not data_samples or any('gt_label' not in s for s in data_samples):
                raise ValueError('cls_loss_weight > 0 needs data samples with gt_label; use a '
                                 'labelled dataset (e.g. mmpretrain ImageNet)')
            losses['loss_cls'] = self.cls_loss_weight * self.head.loss((embed, ),
                                                                       data_samples)['loss']
        with torch.no_grad():
            cos = torch.cosine_similarity(embed.float(), target['embed'].float(), dim=-1)
            losses['cos_sim'] = cos.mean()  # logged, not optimised (no "loss" in the name)
        return losses

    def predict(self, inputs: Tensor, data_samples: Optional[list] = None) -> list:
        """Classify through the inherited head (classifier teachers only)."""
        if self.head is None:
            raise RuntimeError('this bootstrapper has no classifier head (a CLIP student): use '
                               'mode="tensor" for embeddings')
        return self.head.predict((self.extract_feat(inputs), ), data_samples)
