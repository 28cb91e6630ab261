"""Initialisation helpers shared by sfmm's new (not inherited) modules."""
import torch.nn as nn


def init_linear_and_norm(module: nn.Module) -> None:
    """Every Linear in ``module``: truncated normal std 0.02, bias 0; every LayerNorm:
    weight 1, bias 0 (SPEC's default rule, as in timm's ViT)."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
