"""Sampling + adaptive mixing: each token samples P points in its RoI and mixes them."""
import math
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .drop_path import drop_path
from .precision import at_least_fp32
from .roi_ops import roi_sampling_points

Tensor = torch.Tensor


def sample_points(feat: Tensor, points: Tensor, padding_mode: str = 'border') -> Tensor:
    """Bilinearly sample a map at normalised points (``align_corners=False``).

    All tokens and points are sampled by one ``grid_sample`` call, in float32.

    Args:
        feat (Tensor): Map of shape (B, C, H, W).
        points (Tensor): Points in [0, 1] image coordinates, shape (B, N, P, 2).
        padding_mode (str): ``grid_sample`` padding outside the map: ``'border'`` (the
            bootstrapped models) or ``'zeros'`` (the v1 SparseFormers). Defaults to 'border'.

    Returns:
        Tensor: float32 samples of shape (B, C, N, P).
    """
    with torch.autocast(feat.device.type, enabled=False):
        grid = at_least_fp32(points) * 2. - 1.
        return F.grid_sample(at_least_fp32(feat).to(grid.dtype), grid, mode='bilinear',
                             padding_mode=padding_mode, align_corners=False)


def gather_sample_points(feat: Tensor, points: Tensor, padding_mode: str = 'border') -> Tensor:
    """:func:`sample_points` written with one ``gather`` on a channels-last map, for export.

    The same bilinear sampling as ``grid_sample(..., align_corners=False)`` with ``'border'``
    or ``'zeros'`` padding (equal up to float rounding), returned channels-last. ONNX export
    uses it (:class:`AdaptiveSamplingMixing`): in ONNX Runtime one ``Gather`` of whole channel
    rows, which also needs no transpose afterwards, is faster than its ``GridSample`` kernel.
    SF-B / ViT-B/16, both in ONNX Runtime, went from 4.41x to 4.63x (batch 8, 2 CPU threads,
    README "Measured figures"). Eager PyTorch keeps ``grid_sample``,
    whose training numerics the shipped figures rest on.

    Args:
        feat (Tensor): Map of shape (B, C, H, W).
        points (Tensor): Points in [0, 1] image coordinates, shape (B, N, P, 2).
        padding_mode (str): ``'border'`` or ``'zeros'``. Defaults to 'border'.

    Returns:
        Tensor: float32 samples of shape (B, N, P, C).
    """
    with torch.autocast(feat.device.type, enabled=False):
        points = at_least_fp32(points)
        feat = at_least_fp32(feat).to(points.dtype)  # as sample_points: the points' dtype
        B, C, H, W = feat.shape
        N, P = points.shape[1:3]
        # align_corners=False: pixel centres at (i + 0.5) / size
        x, y = points.unbind(-1)
        x, y = x * W - 0.5, y * H - 0.5
        if padding_mode == 'border':
            x, y = x.clamp(0, W - 1), y.clamp(0, H - 1)
        x0, y0 = x.floor(), y.floor()
        wx1, wy1 = x - x0, y - y0
        x0, y0 = x0.long(), y0.long()
        index, weight = [], []
        for yi, wy in ((y0, 1 - wy1), (y0 + 1, wy1)):
            for xi, wx in ((x0, 1 - wx1), (x0 + 1, wx1)):
                w = wx * wy
                if padding_mode == 'zeros':  # corners outside the map contribute nothing
                    w = w * ((xi >= 0) & (xi < W) & (yi >= 0) & (yi < H)).to(w.dtype)
                index.append(yi.clamp(0, H - 1) * W + xi.clamp(0, W - 1))
                weight.append(w)
        # one row index per corner into the (B * H * W, C) channels-last map
        offset = torch.arange(B, device=feat.device).view(B, 1, 1, 1) * (H * W)
        index = (torch.stack(index, -1) + offset).reshape(-1)
        rows = feat.permute(0, 2, 3, 1).reshape(B * H * W, C).index_select(0, index)
        weight = torch.stack(weight, -1).view(B, N, P, 4, 1)
        return (rows.view(B, N, P, 4, C) * weight).sum(3)


class AdaptiveSamplingMixing(nn.Module):
    """One sampling + adaptive-mixing op of a SparseFormer unit (residual).

    Offsets: ``LayerNorm -> Linear(2P, no bias)`` plus a learned bias, standardised per token
    and placed in the RoI (:func:`roi_sampling_points`); the early-conv map is sampled there.
    A parameter generator ``LayerNorm -> Linear(hidden) -> Linear(C*C + P*P_out)`` gives each
    token a channel-mixing ``(C, C)`` and a spatial-mixing ``(P_out, P)`` matrix. Without
    mixing biases (the bootstrapped models) the mixed feature is
    ``GELU(S_sp @ (x_sampled @ M_ch))``: no activation between the two mixings. With mixing
    biases (the v1 SparseFormers) it is ``GELU(S_sp @ GELU(x_sampled @ M_ch + b_ch) + b_sp)``.
    Either is flattened and projected back to the token (residual). This follows
    ``AdaptiveMixing.forward`` of the released showlab/sparseformer code.

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
        ln_eps (float): Epsilon of the offset-branch LayerNorm. Defaults to 1e-5.
        offset_eps (float): Epsilon of the offset standardisation. Defaults to 1e-5.
        mixing_bias (bool): Learned channel / spatial mixing biases with a GELU between the
            two mixings (v1 SparseFormer). Defaults to False.
        param_ln_eps (float, optional): Epsilon of the parameter-generator LayerNorm.
            Defaults to None (``ln_eps``); the v1 models use 1e-5 here and 1e-6 elsewhere.
        padding_mode (str): Sampling padding, see :func:`sample_points`.
            Defaults to 'border'.
    """

    def __init__(self, dim: int, in_channels: int = 64, num_points: int = 16,
                 out_points: Optional[int] = None, hidden_dims: int = 128,
                 ln_eps: float = 1e-5, offset_eps: float = 1e-5, mixing_bias: bool = False,
                 param_ln_eps: Optional[float] = None, padding_mode: str = 'border') -> None:
        super().__init__()
        root = math.isqrt(num_points) if num_points >= 1 else 0
        if num_points < 1 or root * root != num_points:
            raise ValueError(f'num_points must be a positive perfect square, got {num_points}')
        self.dim = dim
        self.in_channels = C = in_channels
        self.num_points = P = num_points
        self.out_points = Po = out_points if out_points is not None else max(num_points, 32)
        self.offset_eps = offset_eps
        if padding_mode not in ('border', 'zeros'):
            raise ValueError(f"padding_mode must be 'border' or 'zeros', got {padding_mode!r}")
        self.padding_mode = padding_mode
        self.mixing_bias = mixing_bias
        self.offset_norm = nn.LayerNorm(dim, eps=ln_eps)
        self.offset_fc = nn.Linear(dim, 2 * P, bias=False)
        self.offset_bias = nn.Parameter(torch.empty(2 * P))
        self.param_norm = nn.LayerNorm(dim, eps=ln_eps if param_ln_eps is None else param_ln_eps)
        self.param_fc1 = nn.Linear(dim, hidden_dims)
        self.param_fc2 = nn.Linear(hidden_dims, C * C + Po * P)
        if mixing_bias:
            self.channel_bias = nn.Parameter(torch.zeros(C))
            self.spatial_bias = nn.Parameter(torch.zeros(Po))
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
        if self.mixing_bias:
            nn.init.zeros_(self.channel_bias)
            nn.init.zeros_(self.spatial_bias)

    def forward(self, x: Tensor, rois: Tensor, feat: Tensor,
                drop_prob: float = 0.) -> Tuple[Tensor, Tensor]:
        """Sample every token's points and add the mixed result to the token.

        Args:
            x (Tensor): Tokens of shape (B, N, D).
            rois (Tensor): RoIs ``[x1, y1, x2, y2]`` in [0, 1], shape (B, N, 4).
            feat (Tensor): Early-conv map of shape (B, C, H, W).
            drop_prob (float): Stochastic depth of the mixing branch (training only).
                Defaults to 0.

        Returns:
            tuple[Tensor, Tensor]: tokens (B, N, D) and the float32 sampling points
            (B, N, P, 2).
        """
        B, N, _ = x.shape
        C, P, Po = self.in_channels, self.num_points, self.out_points
        offsets = self.offset_fc(self.offset_norm(x)).view(B, N, P, 2)
        offsets = at_least_fp32(offsets)
        offsets = offsets + self.offset_bias.to(offsets.dtype).view(P, 2)
        points = roi_sampling_points(rois, offsets, self.offset_eps)
        if torch.onnx.is_in_onnx_export():
            sampled = gather_sample_points(feat, points, self.padding_mode)  # (B, N, P, C)
        else:
            sampled = sample_points(feat, points, self.padding_mode).permute(0, 2, 3, 1)

        params = self.param_fc2(self.param_fc1(self.param_norm(x)))
        # one split, not two slices: its backward is one concatenation instead of two
        # zero-filled slice gradients added together
        channel_mix, spatial_mix = params.view(B * N, -1).split([C * C, Po * P], dim=1)
        channel_mix = channel_mix.view(B * N, C, C)
        spatial_mix = spatial_mix.view(B * N, Po, P)
        sampled = sampled.to(params.dtype).reshape(B * N, P, C)
        if self.mixing_bias:
            out = F.gelu(torch.baddbmm(self.channel_bias.to(params.dtype).view(1, 1, C),
                                       sampled, channel_mix))
            out = torch.baddbmm(self.spatial_bias.to(params.dtype).view(1, Po, 1),
                                spatial_mix, out)
        else:
            out = torch.bmm(spatial_mix, torch.bmm(sampled, channel_mix))
        out = F.gelu(out).view(B, N, Po * C)
        if drop_prob > 0. and self.training:
            return x + drop_path(self.out_proj(out), drop_prob, True), points
        return x + self.out_proj(out), points


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
