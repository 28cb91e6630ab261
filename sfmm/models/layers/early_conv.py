"""Early convolution of SparseFormer: a light stem producing the map that tokens sample from."""
from typing import Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from .precision import at_least_fp32

Tensor = torch.Tensor


def channel_norm(x: Tensor, eps: float = 1e-5) -> Tensor:
    """Normalise a feature map over its channel axis, without affine parameters, in float32.

    Subtracts the per-pixel channel mean and divides by ``sqrt(biased variance + eps)``.
    Runs as a LayerNorm over the channel axis of a channels-last view (fast when ``x`` is
    channels-last in memory, as :class:`EarlyConv` produces it).

    Args:
        x (Tensor): Feature map of shape (B, C, H, W), any floating dtype.
        eps (float): Added to the variance. Defaults to 1e-5.

    Returns:
        Tensor: float32 map of shape (B, C, H, W).
    """
    with torch.autocast(x.device.type, enabled=False):
        x = at_least_fp32(x).permute(0, 2, 3, 1)
        return F.layer_norm(x, x.shape[-1:], eps=eps).permute(0, 3, 1, 2)


class EarlyConv(nn.Module):
    """Early convolution: conv 7x7/2 -> ReLU -> max-pool 3x3/2 -> channel norm.

    Paper: "Bootstrapping SparseFormers from Vision Foundation Models"
    (https://arxiv.org/abs/2312.01987), sec. 3.1; the stem of SparseFormer
    (https://arxiv.org/abs/2304.03768).

    Args:
        in_channels (int): Image channels. Defaults to 3.
        out_channels (int): Channels of the map, ``C``. Defaults to 64.
        eps (float): Epsilon of the channel normalisation. Defaults to 1e-5.
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 64, eps: float = 1e-5) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.eps = eps
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=7, stride=2, padding=3,
                              bias=True)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """Kaiming normal (fan_out, ReLU) weight; the bias keeps PyTorch's default rule.

        As in the released ``EarlyConvolution``: only the weight is re-initialised, so the
        bias is ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` as ``nn.Conv2d`` draws it.
        """
        nn.init.kaiming_normal_(self.conv.weight, mode='fan_out', nonlinearity='relu')
        fan_in = self.conv.weight[0].numel()
        bound = fan_in**-0.5
        nn.init.uniform_(self.conv.bias, -bound, bound)

    def forward(self, x: Tensor, return_stride2: bool = False
                ) -> Union[Tensor, Tuple[Tensor, Tensor]]:
        """Compute the early-convolution map (and, if asked, its stride-2 map).

        Args:
            x (Tensor): Images of shape (B, 3, H, W).
            return_stride2 (bool): Also return the convolution's own stride-2 map: conv +
                ReLU before the max-pool, channel-normalised like the pooled map.
                Defaults to False.

        Returns:
            Tensor | tuple[Tensor, Tensor]: float32 map of shape (B, C, ceil(H/4), ceil(W/4)),
            channels-last in memory; with ``return_stride2`` also the (B, C, ceil(H/2),
            ceil(W/2)) stride-2 map, as ``(map, map_s2)``.
        """
        # Channels-last memory makes the conv, the pooling and the channel norm much faster
        # on CPU; max-pooling before ReLU is exact (ReLU is monotonic) and 4x cheaper.
        x = self.conv(x.contiguous(memory_format=torch.channels_last))
        if return_stride2:
            x = F.relu(x)
            pooled = F.max_pool2d(x, kernel_size=3, stride=2, padding=1)
            return channel_norm(pooled, self.eps), channel_norm(x, self.eps)
        x = F.relu(F.max_pool2d(x, kernel_size=3, stride=2, padding=1))
        return channel_norm(x, self.eps)
