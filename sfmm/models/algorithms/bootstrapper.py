"""Bootstrapping a SparseFormer from a frozen vision foundation model (the paper's algorithm)."""
from typing import Dict, List, Optional, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import BaseModel

from sfmm.models.utils.extend_tokens import extend_latent_tokens
from sfmm.models.utils.inherit import InheritReport, inherit_from_teacher
from sfmm.registry import MODELS
from sfmm.utils.checkpoint import load_checkpoint_file

Tensor = torch.Tensor
# Top-level SparseFormer names that are *not* the focusing part (agreed backbone interface).
_CORTEX_TOP = ('blocks', 'norm', 'proj')


def _drop_teacher_keys(module: nn.Module, state_dict: dict, prefix: str, local_metadata) -> None:
    """State-dict post hook on the teacher: its weights are never saved (re-read from file).

    Only keys saved as part of a parent are dropped: ``teacher.state_dict()`` itself (empty
    prefix) stays complete, for weight inheritance.
    """
    if not prefix:
        return
    for key in [k for k in state_dict if k.startswith(prefix)]:
        del state_dict[key]


def _fill_teacher_keys(module: nn.Module, state_dict: dict, prefix: str, *args) -> None:
    """Load pre-hook on the teacher: a checkpoint without teacher keys keeps the loaded teacher.

    (Reads ``_parameters`` / ``_buffers`` directly, so no state-dict hook is involved.)
    """
    for mod_name, mod in module.named_modules():
        mod_prefix = prefix + (mod_name + '.' if mod_name else '')
        for name, value in mod._parameters.items():
            if value is not None:
                state_dict.setdefault(mod_prefix + name, value.detach())
        for name, value in mod._buffers.items():
            if value is not None and name not in mod._non_persistent_buffers_set:
                state_dict.setdefault(mod_prefix + name, value)


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

    Checkpoints: the teacher's weights are **not** saved (a state-dict hook drops ``teacher.*``)
    and a checkpoint without them loads strictly (a load pre-hook keeps the teacher that
    :meth:`init_weights` read from its file). A bootstrap checkpoint therefore holds
    ``backbone.*`` and ``head.fc.*`` only, the key names of an mmpretrain ``ImageClassifier``
    with the same backbone and a ``LinearClsHead``: it loads directly into
    ``configs/classification/sf-*_in1k.py``.

    Weight loading happens in :meth:`init_weights` (mmengine's runner calls it before
    ``load_from`` / resume): the teacher reads its file, then either the student inherits from
    the teacher (``inherit``) or reads ``student_checkpoint`` (continued bootstrapping; the
    latent tokens are extended if the student has more, see
    :func:`sfmm.models.utils.extend_tokens.extend_latent_tokens`).

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
        student_checkpoint (str, optional): A (shorter-token) bootstrap checkpoint to start the
            student from instead of inheriting. Defaults to None.
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
                 student_checkpoint: Optional[str] = None,
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
        self.student_checkpoint = student_checkpoint
        self.inherit_report: Optional[InheritReport] = None

        reused = student_checkpoint is not None or (
            inherit is not None and inherit.get('reuse_blocks', True))
        if tune_final_norm is None:
            tune_final_norm = not reused
        self._set_trainable(num_tunable, tune_final_norm, reused)
        self.teacher.register_state_dict_post_hook(_drop_teacher_keys)
        self.teacher.register_load_state_dict_pre_hook(_fill_teacher_keys)
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
            elif top == 'norm':
                p.requires_grad = tune_final_norm
            elif top == 'proj':
                p.requires_grad = False
            else:  # the focusing part and [CLS]
                p.requires_grad = True
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
        """Initialise the student, read the teacher's file, then inherit or load the student."""
        if self._is_init:
            return
        super().init_weights()  # backbone's own init, teacher reads its file, head init
        if self.student_checkpoint is not None:
            self.load_student_checkpoint(self.student_checkpoint)
        elif self.inherit_cfg is not None:
            self.inherit_from_teacher()

    def inherit_from_teacher(self) -> InheritReport:
        """Copy the teacher's cortex / norm / projection / classifier into the student."""
        t_state, layout = self.teacher.inheritable_state_dict()
        own = self.state_dict()  # teacher keys are dropped by the post hook
        tensors, report = inherit_from_teacher(
            t_state, layout, own, truncate=self.inherit_cfg['truncate'],
            reuse_blocks=self.inherit_cfg.get('reuse_blocks', True),
            backbone_prefix='backbone.', head_prefix='head.fc.' if self.head is not None else None)
        params = dict(self.named_parameters())
        params.update(dict(self.named_buffers()))
        with torch.no_grad():
            for key, value in tensors.items():
                params[key].copy_(value)
        self.inherit_report = report
        print_log(f'Bootstrapper: weights inherited from {type(self.teacher).__name__} '
                  f'({self.teacher.checkpoint})\n{report.summary()}', logger='current')
        return report

    def load_student_checkpoint(self, path: str) -> None:
        """Strictly load the student (``backbone.*``, ``head.*``) from a bootstrap checkpoint.

        The checkpoint is an sfmm bootstrap / classification checkpoint, or a released
        showlab/sparseformer ("v2 converted") state dict, which is converted first. The latent
        tokens are extended when the student has more than the checkpoint.
        """
        from sfmm.models.utils.sparseformer_official import (convert_sparseformer_official,
                                                             is_sparseformer_official)
        ckpt = load_checkpoint_file(path)
        sd = ckpt.get('state_dict', ckpt)
        if is_sparseformer_official(sd):
            sd = convert_sparseformer_official(sd)
        sd = {k: v for k, v in sd.items() if k.startswith(('backbone.', 'head.'))}
        sd, notes = extend_latent_tokens(sd, self.state_dict())
        self.load_state_dict(sd, strict=True)
        print_log(f'Bootstrapper: student loaded from {path}' +
                  ''.join(f'\n  {n}' for n in notes), logger='current')

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
