"""The focusing unit of a bootstrapped SparseFormer, repeated with shared weights."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from .adaptive_sampling import AdaptiveSamplingMixing
from .attention import Attention
from .drop_path import drop_path
from .mlp import Mlp
from .position_encoding import RoIPositionEncoding
from .roi_ops import RoIAdjust

Tensor = torch.Tensor


class FocusingUnit(nn.Module):
    """Focusing transformer: one unit applied ``repeats`` times with shared weights.

    Repeat ``i`` adds row ``i`` of a stage embedding to the tokens, then runs
    sampling + adaptive mixing, RoI position encoding, self-attention and FFN (each residual,
    pre-norm for attention and FFN) and finally adjusts the RoIs.

    Paper: "Bootstrapping SparseFormers from Vision Foundation Models"
    (https://arxiv.org/abs/2312.01987), sec. 3.1 and appendix A.2.

    Args:
        dim (int): Focusing width ``D_f``; divisible by 64 (``D_f/64`` heads).
        in_channels (int): Early-conv channels ``C``. Defaults to 64.
        num_points (int): Sampling points per token (a perfect square). Defaults to 16.
        repeats (int): Number of repeats ``R``. Defaults to 4.
        mlp_ratio (float): FFN ratio. Defaults to 4.
        head_dims (int): Width of one attention head. Defaults to 64.
        mixing_hidden_dims (int): Parameter-generator hidden width. Defaults to 128.
        mixing_out_points (int, optional): Spatial-mixing output points. Defaults to None
            (``max(P, 32)``).
        ln_eps (float): LayerNorm epsilon. Defaults to 1e-5.
        drop_path_rates (Sequence[float], optional): Stochastic depth of repeat ``i``'s
            sampling, attention and FFN branches (the released code's per-repeat rates).
            Defaults to None (0 for every repeat).
    """

    def __init__(self, dim: int, in_channels: int = 64, num_points: int = 16, repeats: int = 4,
                 mlp_ratio: float = 4., head_dims: int = 64, mixing_hidden_dims: int = 128,
                 mixing_out_points: Optional[int] = None, ln_eps: float = 1e-5,
                 drop_path_rates: Optional[Sequence[float]] = None) -> None:
        super().__init__()
        if dim % head_dims != 0:
            raise ValueError(f'focusing width ({dim}) must be divisible by {head_dims} '
                             '(the width of one attention head)')
        if repeats < 1:
            raise ValueError(f'focusing repeats must be >= 1, got {repeats}')
        self.repeats = repeats
        rates = [0.] * repeats if drop_path_rates is None else [float(r) for r in drop_path_rates]
        if len(rates) != repeats:
            raise ValueError(f'drop_path_rates needs one rate per repeat ({repeats}), got '
                             f'{len(rates)}')
        self.drop_path_rates = rates
        self.stage_embed = nn.Embedding(repeats, dim)
        self.sampling = AdaptiveSamplingMixing(
            dim, in_channels, num_points, mixing_out_points, mixing_hidden_dims, ln_eps)
        self.pos_enc = RoIPositionEncoding(dim, ln_eps=ln_eps)
        self.norm1 = nn.LayerNorm(dim, eps=ln_eps)
        self.attn = Attention(dim, dim // head_dims, qkv_bias=True)
        self.norm2 = nn.LayerNorm(dim, eps=ln_eps)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), act='gelu')
        self.roi_adjust = RoIAdjust(dim, ln_eps)

    def forward(self, x: Tensor, rois: Tensor,
                feat: Tensor) -> Tuple[Tensor, List[Tensor]]:
        """Run all repeats.

        Args:
            x (Tensor): Initial tokens of shape (B, N, D_f).
            rois (Tensor): Initial RoIs of shape (B, N, 4).
            feat (Tensor): Early-conv map of shape (B, C, H, W).

        Returns:
            tuple[Tensor, list[Tensor]]: tokens (B, N, D_f) and the R float32 RoIs
            (B, N, 4) produced by the repeats (the last one is the final RoI).
        """
        all_rois = []
        for i, stage in enumerate(self.stage_embed.weight.unbind(0)):  # one backward op
            p = self.drop_path_rates[i] if self.training else 0.
            x = x + stage
            x, _ = self.sampling(x, rois, feat, drop_prob=p)
            x = self.pos_enc(x, rois)
            x = x + drop_path(self.attn(self.norm1(x)), p, True)
            x = x + drop_path(self.mlp(self.norm2(x)), p, True)
            rois = self.roi_adjust(x, rois)
            all_rois.append(rois)
        return x, all_rois
