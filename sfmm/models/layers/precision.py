"""Precision rule of SparseFormer's geometric ops: half types are promoted, others kept."""
import torch

Tensor = torch.Tensor


def at_least_fp32(x: Tensor) -> Tensor:
    """Promote float16 / bfloat16 tensors to float32 and keep float32 / float64 as they are.

    RoI maths, sampling points, ``grid_sample`` and the early-conv normalisation run at least
    in float32 even under mixed precision (as the released code's ``_maybe_promote`` and
    ``autocast(enabled=False)`` regions do), while a float64 model stays float64 end to end
    (used to check the implementation against a float64 oracle).

    Args:
        x (Tensor): Any tensor.

    Returns:
        Tensor: ``x`` in float32 if it was a half type, else ``x`` itself.
    """
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
