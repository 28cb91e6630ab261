"""Linear layers with fused activation / residual epilogues for CPU inference.

On CPU, float32 inference (no autograd, no autocast) runs a Linear through oneDNN's
``mkldnn::_linear_pointwise``: the bias, a GELU or a residual addition are applied inside
the matrix-multiply kernel, which saves memory passes and thread synchronisations. Anywhere
else (training, autocast, GPUs, other dtypes, builds without oneDNN) the plain PyTorch ops
are used, with identical maths up to float rounding.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

Tensor = torch.Tensor

_OPS = getattr(torch.ops, 'mkldnn', None)
_LINEAR_POINTWISE = getattr(_OPS, '_linear_pointwise', None) if _OPS is not None else None


def _autocast_cpu() -> bool:
    try:
        return torch.is_autocast_enabled('cpu')
    except TypeError:  # torch < 2.4
        return torch.is_autocast_cpu_enabled()


def _fusable(x: Tensor, linear: nn.Linear) -> bool:
    return (_LINEAR_POINTWISE is not None and torch.backends.mkldnn.is_available()
            and x.device.type == 'cpu' and x.dtype == torch.float32
            and linear.weight.dtype == torch.float32 and not torch.is_grad_enabled()
            and not _autocast_cpu())


def fused_linear(x: Tensor, linear: nn.Linear, gelu: bool = False,
                 residual: Optional[Tensor] = None) -> Tensor:
    """``linear(x)``, optionally followed by exact GELU, or added to ``residual``.

    Args:
        x (Tensor): Input of shape (..., in_features).
        linear (nn.Linear): The layer.
        gelu (bool): Apply exact (erf) GELU to the output. Defaults to False.
        residual (Tensor, optional): Added to the output; shape (..., out_features).
            Cannot be combined with ``gelu``. Defaults to None.

    Returns:
        Tensor: Shape (..., out_features).
    """
    if gelu and residual is not None:
        raise ValueError('fused_linear takes either gelu or residual, not both')
    if _fusable(x, linear) and (residual is None or residual.dtype == torch.float32):
        lead = x.shape[:-1]
        x2 = x.reshape(-1, x.shape[-1])
        if residual is not None:
            out = _LINEAR_POINTWISE.binary(
                x2, residual.reshape(-1, linear.out_features), linear.weight, linear.bias,
                'add')
        else:
            out = _LINEAR_POINTWISE(x2, linear.weight, linear.bias,
                                    'gelu' if gelu else 'none', [], 'none' if gelu else '')
        return out.view(*lead, linear.out_features)
    out = linear(x)
    if gelu:
        return F.gelu(out)
    return out if residual is None else residual + out
