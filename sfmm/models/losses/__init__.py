"""Registered losses (``sfmm.CosineAlignLoss``, ``sfmm.KLDistillLoss``)."""
from .cosine_align_loss import CosineAlignLoss
from .kl_distill_loss import KLDistillLoss

__all__ = ['CosineAlignLoss', 'KLDistillLoss']
