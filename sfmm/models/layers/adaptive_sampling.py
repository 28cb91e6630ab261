"""Sampling + adaptive mixing: each token samples P points in its RoI and mixes them."""
import math
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .fused_linear import fused_linear
from .roi_ops import roi_sampling_points

Tensor = torch.Tensor


def sample_points(feat: Tensor, points: Tensor) -> Tensor:
    """Bilinearly sample a map at normalised points (border padding, align_corners=False).

    All tokens and points are sampled by one ``grid_sample`` call, in float32.

    Args:
        feat (Tensor): Map of shape (B, C, H, W).
        points (Tensor): Points in [0, 1] image coordinates, shape (B, N, P, 2).

    Returns:
        Tensor: float32 samples of shape (B, C, N, P).
    """
    with torch.autocast(feat.device.type, enabled=False):
        grid = points.float() * 2. - 1.
        return F.grid_sample(feat.float(), grid, mode='bilinear', padding_mode='border',
                             align_corners=False)


class AdaptiveSamplingMixing(nn.Module):
    """One sampling + adaptive-mixing op of a SparseFormer unit (residual).

    Offsets: ``LayerNorm -> Linear(2P, no bias)`` plus a learned bias, standardised per token
    and placed in the RoI (:func:`roi_sampling_points`); the early-conv map is sampled there.
    A parameter generator ``LayerNorm -> Linear(hidden) -> Linear(C*C + P*P_out)`` gives each
    token a channel-mixing ``(C, C)`` and a spatial-mixing ``(P_out, P)`` matrix:
    ``GELU(S_sp @ GELU(x_sampled @ M_ch))`` is flattened and projected back to the token.

    Paper: SparseFormer (https://arxiv.org/abs/2304.03768) and its bootstrapped version
    (https://arxiv.org/abs/2312.01987); adaptive mixing from AdaMixer
    (https://arxiv.org/abs/2203.16507).

    Args:
        dim (int): Token width.
        in_channels (int): Channels ``C`` of the sampled map. Defaults to 64.
        num_points (int): Sampling points per token ``P``; a perfect square. Defaults to 16.
        out_points (int, optional): Spatial-mixing output points ``P_out``. Defaults to None
            (``max(P, 32)``).
        hidden_dims (int): Hidden width of the parameter generator. Defaults to 128.
        ln_eps (float): LayerNorm epsilon. Defaults to 1e-5.
        offset_eps (float): Epsilon of the offset standardisation. Defaults to 1e-5.
    """

    def __init__(self, dim: int, in_channels: int = 64, num_points: int = 16,
                 out_points: Optional[int] = None, hidden_dims: int = 128,
                 ln_eps: float = 1e-5, offset_eps: float = 1e-5) -> None:
        super().__init__()
        root = math.isqrt(num_points) if num_points >= 1 else 0
        if num_points < 1 or root * root != num_points:
            raise ValueError(f'num_points must be a positive perfect square, got {num_points}')
        self.dim = dim
        self.in_channels = C = in_channels
        self.num_points = P = num_points
        self.out_points = Po = out_points if out_points is not None else max(num_points, 32)
        self.offset_eps = offset_eps
        self.offset_norm = nn.LayerNorm(dim, eps=ln_eps)
        self.offset_fc = nn.Linear(dim, 2 * P, bias=False)
        self.offset_bias = nn.Parameter(torch.empty(2 * P))
        self.param_norm = nn.LayerNorm(dim, eps=ln_eps)
        self.param_fc1 = nn.Linear(dim, hidden_dims)
        self.param_fc2 = nn.Linear(hidden_dims, C * C + Po * P)
        self.out_proj = nn.Linear(Po * C, dim)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """Initialise per SPEC: see :func:`offset_bias_grid` and the generator's Xavier bias."""
        C, P, Po = self.in_channels, self.num_points, self.out_points
        for norm in (self.offset_norm, self.param_norm):
            nn.init.constant_(norm.weight, self.dim**-0.5)
            nn.init.zeros_(norm.bias)
        nn.init.zeros_(self.offset_fc.weight)
        self.offset_bias.copy_(offset_bias_grid(P).flatten())
        for fc in (self.param_fc1, self.out_proj):
            nn.init.trunc_normal_(fc.weight, std=.02)
            nn.init.zeros_(fc.bias)
        nn.init.zeros_(self.param_fc2.weight)
        bias = self.param_fc2.bias
        nn.init.xavier_uniform_(bias[:C * C].view(C, C))
        nn.init.xavier_uniform_(bias[C * C:].view(P, Po))

    def forward(self, x: Tensor, rois: Tensor, feat: Tensor) -> Tuple[Tensor, Tensor]:
        """Sample every token's points and add the mixed result to the token.

        Args:
            x (Tensor): Tokens of shape (B, N, D).
            rois (Tensor): RoIs ``[x1, y1, x2, y2]`` in [0, 1], shape (B, N, 4).
            feat (Tensor): Early-conv map of shape (B, C, H, W).

        Returns:
            tuple[Tensor, Tensor]: tokens (B, N, D) and the float32 sampling points
            (B, N, P, 2).
        """
        B, N, _ = x.shape
        C, P, Po = self.in_channels, self.num_points, self.out_points
        offsets = fused_linear(self.offset_norm(x), self.offset_fc).view(B, N, P, 2)
        offsets = offsets.float() + self.offset_bias.float().view(P, 2)
        points = roi_sampling_points(rois, offsets, self.offset_eps)
        sampled = sample_points(feat, points)  # (B, C, N, P)

        params = fused_linear(fused_linear(self.param_norm(x), self.param_fc1), self.param_fc2)
        params = params.view(B * N, -1)
        channel_mix = params[:, :C * C].view(B * N, C, C)
        spatial_mix = params[:, C * C:].view(B * N, Po, P)
        sampled = sampled.to(params.dtype).permute(0, 2, 3, 1).reshape(B * N, P, C)
        out = F.gelu(torch.bmm(sampled, channel_mix))
        out = F.gelu(torch.bmm(spatial_mix, out))
        return fused_linear(out.view(B, N, Po * C), self.out_proj, residual=x), points


def offset_bias_grid(num_points: int) -> Tensor:
    """Initial offset bias: a ``sqrt(P) x sqrt(P)`` grid of cell centres in [0, 1] minus 0.5.

    Point ``k = row * sqrt(P) + col`` is ``((col + 0.5) / sqrt(P) - 0.5, (row + 0.5) / sqrt(P)
    - 0.5)``.

    Args:
        num_points (int): ``P``, a perfect square.

    Returns:
        Tensor: Shape (P, 2) as ``(x, y)``.
    """
    root = math.isqrt(num_points)
    centres = torch.linspace(0.5 / root, 1 - 0.5 / root, root)
    y, x = torch.meshgrid(centres, centres, indexing='ij')
    return torch.stack([x, y], dim=-1).view(num_points, 2) - 0.5
