"""Continuous sinusoidal RoI position encoding (SparseFormer bootstrapping, appendix A.2)."""
import math

import torch
import torch.nn as nn

from .precision import at_least_fp32

Tensor = torch.Tensor


def roi_pos_freqs(dim: int, max_freq: float = 128.) -> Tensor:
    """The ``dim/4`` frequencies ``exp(linspace(0, ln max_freq, dim/4))`` (float32).

    Args:
        dim (int): Token width; must be divisible by 4.
        max_freq (float): Largest frequency. Defaults to 128.

    Returns:
        Tensor: Shape (dim/4, ).
    """
    return torch.linspace(0, math.log(max_freq), dim // 4, dtype=torch.float32).exp()


def roi_position_encoding(rois: Tensor, freqs: Tensor) -> Tensor:
    """Sinusoidal encoding of RoI corners, without gradient, in float32.

    For each coordinate ``v`` of ``[x1, y1, x2, y2]``: ``a = (pi * v) * f`` for the ``F``
    frequencies; ``[sin(a[0::2]), cos(a[1::2])]`` gives ``F`` values; the 4 coordinates are
    concatenated in order (``4F`` values).

    Args:
        rois (Tensor): RoIs of shape (..., 4).
        freqs (Tensor): Frequencies of shape (F, ), see :func:`roi_pos_freqs`.

    Returns:
        Tensor: float32 encoding of shape (..., 4F).
    """
    with torch.no_grad(), torch.autocast(rois.device.type, enabled=False):
        arg = (at_least_fp32(rois) * math.pi).unsqueeze(-1) * freqs.float()
        pe = torch.cat([arg[..., 0::2].sin(), arg[..., 1::2].cos()], dim=-1)
        return pe.flatten(-2)


class RoIPositionEncoding(nn.Module):
    """Inject RoI position encoding into tokens: ``x + Linear(LayerNorm(PE(rois)))``.

    Paper: "Bootstrapping SparseFormers from Vision Foundation Models"
    (https://arxiv.org/abs/2312.01987), appendix A.2.

    Args:
        dim (int): Token width; must be divisible by 4.
        max_freq (float): Largest frequency ``f_max``. Defaults to 128.
        ln_eps (float): LayerNorm epsilon. Defaults to 1e-5.
    """

    def __init__(self, dim: int, max_freq: float = 128., ln_eps: float = 1e-5) -> None:
        super().__init__()
        if dim % 4 != 0:
            raise ValueError(f'RoI position encoding needs a width divisible by 4, got {dim}')
        self.max_freq = max_freq
        self.norm = nn.LayerNorm(dim, eps=ln_eps)
        self.proj = nn.Linear(dim, dim)
        self.register_buffer('freqs', roi_pos_freqs(dim, max_freq), persistent=False)

    def forward(self, x: Tensor, rois: Tensor) -> Tensor:
        """Add the encoding of each token's RoI to the token.

        Args:
            x (Tensor): Tokens of shape (B, N, D).
            rois (Tensor): RoIs of shape (B, N, 4).

        Returns:
            Tensor: Shape (B, N, D).
        """
        freqs = self.freqs
        if freqs.dtype != torch.float32:  # the module was cast to half: recompute exactly
            freqs = roi_pos_freqs(self.norm.normalized_shape[0], self.max_freq).to(x.device)
        pe = roi_position_encoding(rois, freqs)
        return x + self.proj(self.norm(pe.to(self.norm.weight.dtype)))
