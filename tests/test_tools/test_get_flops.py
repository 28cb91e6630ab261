"""tools/analysis_tools/get_flops.py and sfmm.utils.flops: counts equal hand-computed FLOPs."""
import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import load_tool
from sfmm.utils.flops import count_flops

get_flops = load_tool('tools/analysis_tools/get_flops.py')

TINY_VIT_CFG = """
default_scope = 'mmpretrain'
custom_imports = dict(imports=['sfmm.models'], allow_failed_imports=False)
model = dict(
    type='ImageClassifier',
    backbone=dict(type='VisionTransformer', img_size=32, patch_size=8, out_type='cls_token',
                  arch=dict(embed_dims=32, num_layers=1, num_heads=2, feedforward_channels=64),
                  init_cfg=dict(type='Pretrained', checkpoint='does/not/exist.pth')),
    neck=None,
    head=dict(type='VisionTransformerClsHead', num_classes=10, in_channels=32))
"""


def _tiny_vit_flops(attention: bool) -> int:
    """Hand count (fvcore rules) of TINY_VIT_CFG at 32x32: 16 patches + [CLS] = 17 tokens."""
    T, D, F_, C = 17, 32, 64, 10
    patch = 16 * D * 3 * 8 * 8  # conv: output elements x Cin x k x k
    norms = 3 * 5 * T * D  # ln1, ln2 and the final norm, 5 per element
    block = T * D * 3 * D + T * D * D + 2 * T * D * F_
    attn = 2 * T * T * D if attention else 0  # q @ k^T and attn @ v over 2 heads of 16
    return patch + norms + block + attn + D * C


class _Toy(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.fc = nn.Linear(8, 12)

    def forward(self, x):
        x = self.conv(x).flatten(2).transpose(1, 2)  # (B, 16, 8)
        q = k = v = self.fc(x).view(x.size(0), 16, 2, 6).transpose(1, 2)  # (B, 2, 16, 6)
        return F.scaled_dot_product_attention(q, k, v).sum()


@pytest.mark.parametrize('attention', ['count', 'skip'])
def test_count_flops_matches_hand_count(attention):
    flops, skipped = count_flops(_Toy().eval(), torch.randn(1, 3, 8, 8), attention=attention)
    expected = 16 * 8 * 3 * 9 + 16 * 8 * 12
    if attention == 'count':
        expected += 2 * 16 * 16 * 6 * 2  # (q @ k^T) + (attn @ v), 2 heads
    assert flops == expected
    assert 'aten::scaled_dot_product_attention' not in skipped


def test_count_flops_rejects_unknown_mode():
    with pytest.raises(ValueError, match='attention'):
        count_flops(_Toy(), torch.randn(1, 3, 8, 8), attention='maybe')


@pytest.mark.parametrize('attention', ['count', 'skip'])
def test_get_flops_cli_prints_exact_counts(tmp_path, capsys, attention):
    config = tmp_path / 'tiny_vit.py'
    config.write_text(TINY_VIT_CFG)
    get_flops.main([str(config), '--shape', '32', '--attention', attention])
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 2
    params = float(re.fullmatch(r'Params: ([0-9.e+-]+) M', out[0]).group(1))
    flops = float(re.fullmatch(r'FLOPs: ([0-9.e+-]+) G', out[1]).group(1))
    assert flops * 1e9 == pytest.approx(_tiny_vit_flops(attention == 'count'), rel=1e-5)

    _, expected_params, _ = get_flops.get_flops(str(config), (32, 32))
    D = 32
    hand = (3 * 8 * 8 * D + D) + D + 17 * D  # patch conv, [CLS], pos_embed
    hand += 4 * D + (D * 3 * D + 3 * D) + (D * D + D) + (D * 64 + 64) + (64 * D + D)  # block
    hand += 2 * D + (D * 10 + 10)  # final norm, classifier
    assert expected_params == hand
    assert params * 1e6 == pytest.approx(hand, rel=1e-5)


def test_get_flops_shape_argument():
    assert get_flops.parse_args(['c.py', '--shape', '320']).shape == [320, 320]
    assert get_flops.parse_args(['c.py', '--shape', '256', '320']).shape == [256, 320]
    with pytest.raises(SystemExit):
        get_flops.parse_args(['c.py', '--shape', '1', '2', '3'])


class _MHA(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)

    def forward(self, x):
        x = x.flatten(2).transpose(1, 2)  # (B, 5, 8) from (B, 8, 1, 5)
        return self.attn(x, x, x, need_weights=False)[0]


@pytest.mark.parametrize('attention', ['count', 'skip'])
def test_multihead_attention_counted_despite_fused_fast_path(attention):
    # in eval mode under no_grad nn.MultiheadAttention would dispatch to the fused
    # aten::_native_multi_head_attention, which fvcore cannot count
    L, E = 5, 8
    with torch.no_grad():
        flops, skipped = count_flops(_MHA().eval(), torch.randn(1, E, 1, L),
                                     attention=attention)
    expected = L * E * 3 * E + L * E * E + (2 * L * L * E if attention == 'count' else 0)
    assert flops == expected
    assert not any('multi_head' in op for op in skipped)
    assert torch.backends.mha.get_fastpath_enabled()  # restored


def test_sparseformer_counted_in_full_unless_executed(capsys, repo_root):
    """By default the full architecture is counted (SPEC's convention); ``--executed``
    counts the [CLS]-only last block of a config with ``cls_only_last_block=True``."""
    cfg = f'{repo_root}/tests/data/configs/tiny_sf_classifier.py'
    full, params, _ = get_flops.get_flops(cfg, (32, 32))
    run, params_run, _ = get_flops.get_flops(cfg, (32, 32), executed=True)
    tokens, _, _ = get_flops.get_flops(
        cfg, (32, 32), executed=True,
        cfg_options={'model.backbone.out_keys': ('tokens', 'embed'),
                     'model.backbone.cls_only_last_block': False})
    assert full == tokens and params == params_run
    # in the last block the 8 latent tokens still give queries, keys and values (norm1,
    # qkv), but skip the output projection, norm2 and MLP
    D, T = 64, 8
    assert full - run == T * (D * D + 5 * D + 2 * D * 4 * D)
    get_flops.main([cfg, '--shape', '32'])
    printed = float(re.search(r'FLOPs: ([0-9.e+-]+) G', capsys.readouterr().out).group(1))
    assert printed * 1e9 == pytest.approx(full, rel=1e-5)
