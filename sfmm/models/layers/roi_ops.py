"""RoI maths of SparseFormer (float32): RoI adjustment and RoI-relative sampling points."""
import torch
import torch.nn as nn

from .drop_path import drop_path
from .precision import at_least_fp32

Tensor = torch.Tensor


def roi_adjust(rois: Tensor, deltas: Tensor) -> Tensor:
    """Apply normalised deltas to RoIs (paper eqs. 2-3), in float32.

    With centre ``(cx, cy)`` and size ``w = |x2 - x1|``, ``h = |y2 - y1|``:
    ``cx += dx * w``, ``cy += dy * h``, ``w *= exp(dw)``, ``h *= exp(dh)``, then back to corners.

    Args:
        rois (Tensor): RoIs ``[x1, y1, x2, y2]`` of shape (..., 4).
        deltas (Tensor): ``[dx, dy, dw, dh]`` of shape (..., 4).

    Returns:
        Tensor: float32 RoIs of shape (..., 4).
    """
    with torch.autocast(rois.device.type, enabled=False):
        rois = at_least_fp32(rois)
        deltas = at_least_fp32(deltas).to(rois.dtype)
        lo, hi = rois.split(2, dim=-1)  # splits, not slices: fewer backward ops
        shift, scale = deltas.split(2, dim=-1)
        wh = (hi - lo).abs()
        ctr = torch.addcmul((lo + hi) * 0.5, shift, wh)
        half = 0.5 * wh * scale.exp()
        return torch.cat([ctr - half, ctr + half], dim=-1)


def roi_sampling_points(rois: Tensor, offsets: Tensor, eps: float = 1e-5) -> Tensor:
    """Turn raw per-token offsets into absolute sampling points inside each RoI, in float32.

    Per token and per axis, the ``P`` offsets are standardised: minus their mean, divided by
    ``3 * (unbiased std + eps)``. A point is ``RoI centre + offset * (x2 - x1, y2 - y1)``
    (the signed size, as in the released implementation).

    Args:
        rois (Tensor): RoIs ``[x1, y1, x2, y2]`` of shape (B, N, 4).
        offsets (Tensor): Raw offsets of shape (B, N, P, 2) (``x, y`` per point).
        eps (float): Added to the standard deviation. Defaults to 1e-5.

    Returns:
        Tensor: float32 points of shape (B, N, P, 2) in [0, 1] image coordinates.
    """
    with torch.autocast(rois.device.type, enabled=False):
        rois = at_least_fp32(rois)
        offsets = at_least_fp32(offsets).to(rois.dtype)
        std, mean = torch.std_mean(offsets, dim=2, keepdim=True)
        offsets = (offsets - mean) / (3. * (std + eps))
        lo, hi = rois.unsqueeze(2).split(2, dim=-1)
        return torch.addcmul((lo + hi) * 0.5, offsets, hi - lo)


class RoIAdjust(nn.Module):
    """RoI adjustment branch: tokens predict ``(dx, dy, dw, dh)`` that move their RoIs.

    ``hidden=True`` (the bootstrapped models, released ``type_op_adjust=2``):
    ``LayerNorm -> Linear(dim) -> GELU -> Linear(4, no bias)``. ``hidden=False`` (the v1
    SparseFormers, ``type_op_adjust=1``): ``LayerNorm -> Linear(4, no bias)``, with stochastic
    depth on the deltas while training.

    Paper: https://arxiv.org/abs/2312.01987, sec. 3.1 and appendix A.2;
    https://arxiv.org/abs/2304.03768, sec. 3.

    Args:
        dim (int): Token width.
        ln_eps (float): LayerNorm epsilon. Defaults to 1e-5.
        hidden (bool): Whether the branch has the hidden ``Linear -> GELU`` (keys ``fc1``,
            ``fc2``) or a single Linear (key ``fc``). Defaults to True.
    """

    def __init__(self, dim: int, ln_eps: float = 1e-5, hidden: bool = True) -> None:
        super().__init__()
        self.hidden = hidden
        self.norm = nn.LayerNorm(dim, eps=ln_eps)
        if hidden:
            self.fc1 = nn.Linear(dim, dim)
            self.act = nn.GELU()
            self.fc2 = nn.Linear(dim, 4, bias=False)
        else:
            self.fc = nn.Linear(dim, 4, bias=False)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """LN weight ``dim**-0.5``, bias 0; fc1 trunc-normal(0.02)/0; last Linear zeros."""
        dim = self.norm.normalized_shape[0]
        nn.init.constant_(self.norm.weight, dim**-0.5)
        nn.init.zeros_(self.norm.bias)
        if self.hidden:
            nn.init.trunc_normal_(self.fc1.weight, std=.02)
            nn.init.zeros_(self.fc1.bias)
            nn.init.zeros_(self.fc2.weight)
        else:
            nn.init.zeros_(self.fc.weight)

    def forward(self, x: Tensor, rois: Tensor, drop_prob: float = 0.) -> Tensor:
        """Predict deltas from tokens and move the RoIs.

        Args:
            x (Tensor): Tokens of shape (B, N, D).
            rois (Tensor): RoIs of shape (B, N, 4).
            drop_prob (float): Stochastic depth of the deltas (training only; the released
                code applies it in the single-Linear form). Defaults to 0.

        Returns:
            Tensor: float32 adjusted RoIs of shape (B, N, 4).
        """
        if self.hidden:
            deltas = self.fc2(self.act(self.fc1(self.norm(x))))
        else:
            deltas = self.fc(self.norm(x))
        if drop_prob > 0. and self.training:
            deltas = drop_path(deltas, drop_prob, True)
        return roi_adjust(rois, deltas)
