"""Multi-head self-attention with a fused qkv projection and PyTorch's fused SDPA kernel."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from .fused_linear import fused_linear

Tensor = torch.Tensor


class Attention(nn.Module):
    """Multi-head self-attention (timm's parameter names ``qkv`` and ``proj``).

    Args:
        dim (int): Token width ``D``; must be divisible by ``num_heads``.
        num_heads (int): Number of heads. Defaults to 8.
        qkv_bias (bool): Whether the fused qkv Linear has a bias. Defaults to True.
    """

    def __init__(self, dim: int, num_heads: int = 8, qkv_bias: bool = True) -> None:
        super().__init__()
        if dim % num_heads != 0:
            raise ValueError(f'dim ({dim}) must be divisible by num_heads ({num_heads})')
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor, residual: Optional[Tensor] = None) -> Tensor:
        """Attend over the token axis.

        Args:
            x (Tensor): Tokens of shape (B, L, D).
            residual (Tensor, optional): (B, L, D) added to the output (fused into the
                output projection for CPU inference). Defaults to None.

        Returns:
            Tensor: Shape (B, L, D).
        """
        B, L, D = x.shape
        q, k, v = fused_linear(x, self.qkv).view(B, L, 3, self.num_heads,
                                                  self.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
        x = F.scaled_dot_product_attention(q, k, v)
        return fused_linear(x.transpose(1, 2).reshape(B, L, D), self.proj, residual=residual)

    def forward_queries(self, x: Tensor, num_queries: int = 1,
                        residual: Optional[Tensor] = None) -> Tensor:
        """Attend from the first ``num_queries`` tokens only (keys/values: all tokens).

        Gives the same rows as ``forward(x)[:, :num_queries]`` while projecting queries for
        those tokens only; used when only the [CLS] output of a last block is needed.

        Args:
            x (Tensor): Tokens of shape (B, L, D).
            num_queries (int): Leading tokens that attend. Defaults to 1.
            residual (Tensor, optional): (B, num_queries, D) added to the output.
                Defaults to None.

        Returns:
            Tensor: Shape (B, num_queries, D).
        """
        B, L, D = x.shape
        H, hd = self.num_heads, self.head_dim
        w, b = self.qkv.weight, self.qkv.bias
        q = F.linear(x[:, :num_queries], w[:D], None if b is None else b[:D])
        kv = F.linear(x, w[D:], None if b is None else b[D:])
        q = q.view(B, num_queries, H, hd).transpose(1, 2)
        k, v = kv.view(B, L, 2, H, hd).permute(2, 0, 3, 1, 4).unbind(0)
        x = F.scaled_dot_product_attention(q, k, v)
        return fused_linear(x.transpose(1, 2).reshape(B, num_queries, D), self.proj,
                            residual=residual)
