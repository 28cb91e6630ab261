"""The final sampling unit of a bootstrapped SparseFormer (cortex width, run once)."""
from typing import Optional, Tuple

import torch
import torch.nn as nn

from .adaptive_sampling import AdaptiveSamplingMixing
from .position_encoding import RoIPositionEncoding

Tensor = torch.Tensor


class SamplingUnit(nn.Module):
    """Sampling + adaptive mixing followed by RoI position encoding (no attention/FFN).

    Paper: "Bootstrapping SparseFormers from Vision Foundation Models"
    (https://arxiv.org/abs/2312.01987), appendix A.2.

    Args:
        dim (int): Token width ``D``; divisible by 4.
        in_channels (int): Early-conv channels ``C``. Defaults to 64.
        num_points (int): Sampling points per token (a perfect square). Defaults to 16.
        mixing_hidden_dims (int): Parameter-generator hidden width. Defaults to 128.
        mixing_out_points (int, optional): Spatial-mixing output points. Defaults to None
            (``max(P, 32)``).
        ln_eps (float): LayerNorm epsilon. Defaults to 1e-5.
        drop_path_rate (float): Stochastic depth of the mixing branch. Defaults to 0.
    """

    def __init__(self, dim: int, in_channels: int = 64, num_points: int = 16,
                 mixing_hidden_dims: int = 128, mixing_out_points: Optional[int] = None,
                 ln_eps: float = 1e-5, drop_path_rate: float = 0.) -> None:
        super().__init__()
        self.drop_path_rate = float(drop_path_rate)
        self.sampling = AdaptiveSamplingMixing(
            dim, in_channels, num_points, mixing_out_points, mixing_hidden_dims, ln_eps)
        self.pos_enc = RoIPositionEncoding(dim, ln_eps=ln_eps)

    def forward(self, x: Tensor, rois: Tensor, feat: Tensor) -> Tuple[Tensor, Tensor]:
        """Sample, mix and encode positions once.

        Args:
            x (Tensor): Tokens of shape (B, N, D).
            rois (Tensor): RoIs of shape (B, N, 4).
            feat (Tensor): Early-conv map of shape (B, C, H, W).

        Returns:
            tuple[Tensor, Tensor]: tokens (B, N, D) and float32 sampling points (B, N, P, 2).
        """
        x, points = self.sampling(x, rois, feat, drop_prob=self.drop_path_rate)
        return self.pos_enc(x, rois), points
