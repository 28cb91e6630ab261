"""Early convolution of SparseFormer: a light stem producing the map that tokens sample from."""
import torch
import torch.nn as nn
import torch.nn.functional as F

Tensor = torch.Tensor


def channel_norm(x: Tensor, eps: float = 1e-5) -> Tensor:
    """Normalise a feature map over its channel axis, without affine parameters, in float32.

    Subtracts the per-pixel channel mean and divides by ``sqrt(biased variance + eps)``.

    Args:
        x (Tensor): Feature map of shape (B, C, H, W), any floating dtype.
        eps (float): Added to the variance. Defaults to 1e-5.

    Returns:
        Tensor: float32 map of shape (B, C, H, W).
    """
    with torch.autocast(x.device.type, enabled=False):
        x = x.float()
        var, mean = torch.var_mean(x, dim=1, keepdim=True, unbiased=False)
        return (x - mean) / (var + eps).sqrt()


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
        """Kaiming normal (fan_out, ReLU) weight, zero bias."""
        nn.init.kaiming_normal_(self.conv.weight, mode='fan_out', nonlinearity='relu')
        nn.init.zeros_(self.conv.bias)

    def forward(self, x: Tensor) -> Tensor:
        """Compute the early-convolution map.

        Args:
            x (Tensor): Images of shape (B, 3, H, W).

        Returns:
            Tensor: float32 map of shape (B, C, ceil(H/4), ceil(W/4)).
        """
        x = F.relu(self.conv(x), inplace=True)
        x = F.max_pool2d(x, kernel_size=3, stride=2, padding=1)
        return channel_norm(x, self.eps)
