"""Feed-forward network (two Linears) with GELU or QuickGELU."""
from typing import Optional

import torch
import torch.nn as nn

Tensor = torch.Tensor

ACTIVATIONS = ('gelu', 'quick_gelu')


class QuickGELU(nn.Module):
    """OpenAI CLIP's GELU approximation, ``x * sigmoid(1.702 x)``."""

    def forward(self, x: Tensor) -> Tensor:
        """Apply the activation elementwise (any shape)."""
        return x * torch.sigmoid(1.702 * x)


def build_activation(name: str) -> nn.Module:
    """Build an activation module from its name.

    Args:
        name (str): ``'gelu'`` (exact, erf-based) or ``'quick_gelu'``.

    Returns:
        nn.Module: The activation.

    Raises:
        ValueError: If ``name`` is not one of :data:`ACTIVATIONS`.
    """
    if name == 'gelu':
        return nn.GELU()
    if name == 'quick_gelu':
        return QuickGELU()
    raise ValueError(f'unknown activation {name!r}; valid names: {ACTIVATIONS}')


class Mlp(nn.Module):
    """Two-layer MLP ``fc2(act(fc1(x)))`` as in ViT blocks (timm's names ``fc1``/``fc2``).

    Args:
        in_features (int): Input (and output) width.
        hidden_features (int, optional): Hidden width. Defaults to None (4 x in_features).
        act (str): Activation name, see :func:`build_activation`. Defaults to 'gelu'.
    """

    def __init__(self, in_features: int, hidden_features: Optional[int] = None,
                 act: str = 'gelu') -> None:
        super().__init__()
        hidden_features = hidden_features or 4 * in_features
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = build_activation(act)
        self.fc2 = nn.Linear(hidden_features, in_features)

    def forward(self, x: Tensor) -> Tensor:
        """``fc2(act(fc1(x)))``, shapes (..., D) -> (..., D)."""
        return self.fc2(self.act(self.fc1(x)))
