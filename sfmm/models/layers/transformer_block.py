"""Pre-norm ViT block (the SparseFormer cortex block), named like timm's ``Block``."""
import torch
import torch.nn as nn

from .attention import Attention
from .drop_path import DropPath
from .mlp import Mlp

Tensor = torch.Tensor


class TransformerBlock(nn.Module):
    """Pre-norm transformer block: ``x + attn(norm1(x))`` then ``x + mlp(norm2(x))``.

    Paper: "An Image is Worth 16x16 Words" (https://arxiv.org/abs/2010.11929); used as
    the SparseFormer cortex (https://arxiv.org/abs/2312.01987, sec. 3.1).

    Args:
        dim (int): Token width ``D``.
        num_heads (int): Attention heads. Defaults to 12.
        mlp_ratio (float): MLP hidden width / ``D``. Defaults to 4.
        act (str): MLP activation, ``'gelu'`` or ``'quick_gelu'``. Defaults to 'gelu'.
        ln_eps (float): LayerNorm epsilon. Defaults to 1e-5.
        drop_path_rate (float): Stochastic depth rate. Defaults to 0.
    """

    def __init__(self, dim: int, num_heads: int = 12, mlp_ratio: float = 4., act: str = 'gelu',
                 ln_eps: float = 1e-5, drop_path_rate: float = 0.) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=ln_eps)
        self.attn = Attention(dim, num_heads, qkv_bias=True)
        self.norm2 = nn.LayerNorm(dim, eps=ln_eps)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), act=act)
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        """(B, L, D) -> (B, L, D)."""
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))

    def forward_queries(self, x: Tensor, num_queries: int = 1) -> Tensor:
        """Compute only the first ``num_queries`` output tokens (e.g. [CLS] of a last block).

        Equal to ``forward(x)[:, :num_queries]``: every token is normalised and projected
        by ``qkv`` (keys and values), but only the leading rows attend and run the output
        projection and the MLP.

        Args:
            x (Tensor): Tokens of shape (B, L, D).
            num_queries (int): Leading tokens to compute. Defaults to 1.

        Returns:
            Tensor: Shape (B, num_queries, D).
        """
        q = x[:, :num_queries] + self.drop_path(
            self.attn.forward_queries(self.norm1(x), num_queries))
        return q + self.drop_path(self.mlp(self.norm2(q)))
