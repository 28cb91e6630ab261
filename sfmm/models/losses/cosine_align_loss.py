"""Cosine alignment loss between student and teacher embeddings (paper eq. 5)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from sfmm.registry import MODELS


@MODELS.register_module()
class CosineAlignLoss(nn.Module):
    """``1 - cos(student, teacher)``, averaged over the batch.

    Paper: https://arxiv.org/abs/2312.01987, eq. 5. Computed in float32 whatever the autocast
    dtype of the inputs; the target carries no gradient.

    Args:
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        eps (float): Norm clamp of :func:`torch.nn.functional.cosine_similarity`.
            Defaults to 1e-8.
    """

    def __init__(self, loss_weight: float = 1.0, eps: float = 1e-8) -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.eps = eps

    def forward(self, student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        """Compute the loss.

        Args:
            student (Tensor): ``(B, E)`` student embeddings.
            teacher (Tensor): ``(B, E)`` teacher embeddings (detached here).

        Returns:
            Tensor: A scalar.
        """
        if student.shape != teacher.shape:
            raise ValueError(f'student embedding {tuple(student.shape)} and teacher embedding '
                             f'{tuple(teacher.shape)} differ in shape')
        cos = F.cosine_similarity(student.float(), teacher.detach().float(), dim=-1, eps=self.eps)
        return self.loss_weight * (1 - cos).mean()
