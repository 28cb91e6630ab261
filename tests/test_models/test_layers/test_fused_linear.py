"""The fused Linear epilogues agree with the plain ops and keep autograd intact."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from sfmm.models.layers import Mlp, TransformerBlock, fused_linear


@pytest.mark.parametrize('bias', [True, False])
def test_fused_matches_plain(bias):
    torch.manual_seed(0)
    lin = nn.Linear(24, 12, bias=bias)
    x = torch.randn(2, 5, 24)
    res = torch.randn(5, 2, 12).transpose(0, 1)  # non-contiguous residual
    with torch.no_grad():
        torch.testing.assert_close(fused_linear(x, lin), lin(x))
        torch.testing.assert_close(fused_linear(x, lin, gelu=True), F.gelu(lin(x)))
        torch.testing.assert_close(fused_linear(x, lin, residual=res), res + lin(x))
    with pytest.raises(ValueError):
        fused_linear(x, lin, gelu=True, residual=res)


def test_grad_path_unchanged():
    lin = nn.Linear(8, 4)
    x = torch.randn(3, 8, requires_grad=True)
    fused_linear(x, lin, residual=torch.ones(3, 4)).sum().backward()
    assert x.grad is not None and lin.weight.grad is not None


def test_mlp_and_block_residual_fusion_equal_plain():
    torch.manual_seed(0)
    mlp = Mlp(16, 32)
    block = TransformerBlock(16, 2, act='quick_gelu').eval()
    x = torch.randn(2, 4, 16)
    with torch.no_grad():
        torch.testing.assert_close(mlp(x, residual=x), x + mlp.fc2(F.gelu(mlp.fc1(x))))
        plain = x + block.attn(block.norm1(x))
        plain = plain + block.mlp(block.norm2(plain))
        torch.testing.assert_close(block(x), plain)
