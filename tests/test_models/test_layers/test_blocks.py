"""Attention, MLP, transformer block and early convolution."""
import pytest
import torch
import torch.nn.functional as F

from sfmm.models.layers import (Attention, EarlyConv, QuickGELU, TransformerBlock,
                                build_activation, channel_norm)


def test_attention_matches_explicit_softmax():
    torch.manual_seed(0)
    attn = Attention(16, num_heads=2)
    x = torch.randn(2, 5, 16)
    q, k, v = attn.qkv(x).view(2, 5, 3, 2, 8).permute(2, 0, 3, 1, 4)
    w = torch.softmax(q @ k.transpose(-1, -2) / 8**0.5, -1)
    expected = attn.proj((w @ v).transpose(1, 2).reshape(2, 5, 16))
    torch.testing.assert_close(attn(x), expected)
    torch.testing.assert_close(attn.forward_queries(x, 2), expected[:, :2])


def test_block_query_path_and_timm_names():
    timm_vit = pytest.importorskip('timm.models.vision_transformer')
    torch.manual_seed(0)
    block = TransformerBlock(32, num_heads=4, act='gelu').eval()
    ref = timm_vit.Block(32, 4, qkv_bias=True).eval()
    ref.load_state_dict(block.state_dict(), strict=True)  # same parameter names as timm
    x = torch.randn(2, 7, 32)
    torch.testing.assert_close(block(x), ref(x))
    torch.testing.assert_close(block.forward_queries(x, 1), block(x)[:, :1])


def test_activations():
    x = torch.linspace(-3, 3, 11)
    torch.testing.assert_close(QuickGELU()(x), x * torch.sigmoid(1.702 * x))
    torch.testing.assert_close(build_activation('gelu')(x), F.gelu(x))
    with pytest.raises(ValueError, match='quick_gelu'):
        build_activation('relu')


def test_channel_norm_and_early_conv():
    x = torch.randn(2, 6, 5, 7) * 3 + 1
    y = channel_norm(x)
    mean = x.mean(1, keepdim=True)
    var = x.var(1, unbiased=False, keepdim=True)
    torch.testing.assert_close(y, (x - mean) / (var + 1e-5).sqrt(), atol=1e-5, rtol=1e-5)
    stem = EarlyConv(3, 8)
    img = torch.randn(1, 3, 30, 22)
    out = stem(img)
    assert out.shape == (1, 8, 8, 6)
    ref = F.max_pool2d(F.relu(stem.conv(img)), 3, 2, 1)
    torch.testing.assert_close(out, channel_norm(ref))
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert stem(img).dtype == torch.float32
