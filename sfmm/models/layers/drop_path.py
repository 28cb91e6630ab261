"""Stochastic depth (per-sample drop path) for residual branches."""
import torch
import torch.nn as nn

Tensor = torch.Tensor


def drop_path(x: Tensor, drop_prob: float = 0., training: bool = False) -> Tensor:
    """Stochastic depth per sample (batch-first): zero whole residual branches.

    Args:
        x (Tensor): Residual branch of shape (B, ...).
        drop_prob (float): Probability of dropping a sample's branch. Defaults to 0.
        training (bool): Only active while training. Defaults to False.

    Returns:
        Tensor: ``x`` with dropped samples zeroed and kept ones scaled by ``1/(1-p)``.
    """
    if drop_prob == 0. or not training:
        return x
    keep = 1. - drop_prob
    mask = x.new_empty((x.shape[0], ) + (1, ) * (x.ndim - 1)).bernoulli_(keep)
    return x * mask.div_(keep)


class DropPath(nn.Module):
    """Module form of :func:`drop_path`.

    Args:
        drop_prob (float): Drop probability. Defaults to 0.
    """

    def __init__(self, drop_prob: float = 0.) -> None:
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x: Tensor) -> Tensor:
        """Apply stochastic depth to a (B, ...) branch."""
        return drop_path(x, self.drop_prob, self.training)

    def extra_repr(self) -> str:
        return f'drop_prob={self.drop_prob}'
