"""KL distillation on classifier logits with a temperature (paper Table 3 ablation)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from sfmm.registry import MODELS


@MODELS.register_module()
class KLDistillLoss(nn.Module):
    """Hinton-style distillation: ``tau^2 * KL(softmax(t / tau) || softmax(s / tau))``.

    Averaged over the batch ("batchmean"), computed in float32; the teacher's logits carry no
    gradient. Used by the "KL distill tau=3 / tau=5" rows of the paper's Table 3, where it
    replaces the cosine alignment.

    Args:
        tau (float): Softmax temperature. Defaults to 1.0.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
    """

    def __init__(self, tau: float = 1.0, loss_weight: float = 1.0) -> None:
        super().__init__()
        if tau <= 0:
            raise ValueError(f'tau must be > 0, got {tau}')
        self.tau = tau
        self.loss_weight = loss_weight

    def forward(self, student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
        """Compute the loss.

        Args:
            student_logits (Tensor): ``(B, K)``.
            teacher_logits (Tensor): ``(B, K)`` (detached here).

        Returns:
            Tensor: A scalar.
        """
        log_p = F.log_softmax(student_logits.float() / self.tau, dim=-1)
        log_q = F.log_softmax(teacher_logits.detach().float() / self.tau, dim=-1)
        kl = F.kl_div(log_p, log_q, reduction='batchmean', log_target=True)
        return self.loss_weight * kl * self.tau ** 2
