"""Multi-head self-attention with a fused qkv projection and PyTorch's fused SDPA kernel."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

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

    def forward(self, x: Tensor) -> Tensor:
        """Attend over the token axis.

        Args:
            x (Tensor): Tokens of shape (B, L, D).

        Returns:
            Tensor: Shape (B, L, D).
        """
        return self.proj(self._attend(x))

    def forward_queries(self, x: Tensor, num_queries: int = 1) -> Tensor:
        """Attend from the first ``num_queries`` tokens only (keys/values: all tokens).

        Gives the same rows as ``forward(x)[:, :num_queries]``; the output projection runs
        on those rows only. Used when only the [CLS] output of a last block is needed.

        Args:
            x (Tensor): Tokens of shape (B, L, D).
            num_queries (int): Leading tokens that attend. Defaults to 1.

        Returns:
            Tensor: Shape (B, num_queries, D).
        """
        return self.proj(self._attend(x, num_queries))

    def _attend(self, x: Tensor, num_queries: Optional[int] = None) -> Tensor:
        """Multi-head attention before the output projection.

        ``qkv`` projects every token; with ``num_queries`` only the first ``num_queries``
        tokens attend (their queries are kept, keys and values come from all tokens).

        Args:
            x (Tensor): Tokens of shape (B, L, D).
            num_queries (int, optional): Leading tokens that attend. Defaults to None (all).

        Returns:
            Tensor: Heads concatenated, shape (B, L or num_queries, D).
        """
        B, L, D = x.shape
        q, k, v = self.qkv(x).view(B, L, 3, self.num_heads,
                                   self.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
        if num_queries is not None:
            q = q[:, :, :num_queries]
        x = F.scaled_dot_product_attention(q, k, v)
        return x.transpose(1, 2).reshape(B, q.shape[2], D)
