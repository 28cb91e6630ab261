"""tools/analysis_tools/benchmark.py: tiny configs, throughput lines, side-by-side ratios."""
import re

import pytest
import torch
from torch import nn

from conftest import load_tool

benchmark = load_tool('tools/analysis_tools/benchmark.py')

TINY_CFG = """
default_scope = 'mmpretrain'
custom_imports = dict(imports=['sfmm.models'], allow_failed_imports=False)
model = dict(
    type='ImageClassifier',
    backbone=dict(type='VisionTransformer', img_size=32, patch_size=8, out_type='cls_token',
                  arch=dict(embed_dims=WIDTH, num_layers=1, num_heads=2,
                            feedforward_channels=64)),
    neck=None,
    head=dict(type='VisionTransformerClsHead', num_classes=10, in_channels=WIDTH))
"""

_LINE = re.compile(r'throughput: ([0-9.]+) img/s')


def _config(tmp_path, name, width):
    path = tmp_path / f'{name}.py'
    path.write_text(TINY_CFG.replace('WIDTH', str(width)))
    return str(path)


def test_single_config_prints_throughput(tmp_path, capsys):
    config = _config(tmp_path, 'tiny', 16)
    result = benchmark.main([config, '--batch-size', '2', '--shape', '32', '--warmup', '1',
                             '--iters', '2', '--device', 'cpu', '--num-threads', '1'])
    lines = [ln for ln in capsys.readouterr().out.splitlines() if 'throughput' in ln]
    assert len(lines) == 1 and lines[0].startswith('throughput: ')
    value = float(_LINE.search(lines[0]).group(1))
    assert value > 0 and value == pytest.approx(result['tiny'], rel=1e-2)


def test_compare_times_side_by_side_and_prints_ratio(tmp_path, capsys):
    small, big = _config(tmp_path, 'small', 16), _config(tmp_path, 'big', 64)
    result = benchmark.main([small, '--compare', big, '--batch-size', '2', '--shape', '32',
                             '--warmup', '1', '--iters', '2', '--device', 'cpu'])
    out = capsys.readouterr().out
    assert re.search(r'throughput: [0-9.]+ img/s \(small\)', out)
    assert re.search(r'throughput: [0-9.]+ img/s \(big\)', out)
    ratio = float(re.search(r'ratio small/big: ([0-9.]+)', out).group(1))
    assert ratio == pytest.approx(result['small'] / result['big'], rel=1e-2)


def test_benchmark_interleaves_models():
    calls = []

    class Recorder(nn.Module):
        def __init__(self, name):
            super().__init__()
            self.name = name

        def forward(self, x):
            calls.append(self.name)
            return x

    times = benchmark.benchmark([Recorder('a'), Recorder('b')], torch.zeros(1, 3, 4, 4),
                                warmup=1, iters=3)
    assert [len(t) for t in times] == [3, 3]
    # one forward of each model per round, the order rotating between rounds
    assert calls == ['a', 'b', 'b', 'a', 'a', 'b', 'b', 'a']


def test_sfmm_models_are_optimized_unless_no_optimize(tmp_path, repo_root, capsys):
    from sfmm.apis import InferenceLinear
    from sfmm.apis.optimize import onednn_linear_available

    sf_cfg = f'{repo_root}/tests/data/configs/tiny_sf_classifier.py'
    vit_cfg = _config(tmp_path, 'vit', 16)

    def swapped(model):
        return any(isinstance(m, InferenceLinear) for m in model.modules())

    assert swapped(benchmark.build(sf_cfg, 'cpu')) == onednn_linear_available()
    assert not swapped(benchmark.build(sf_cfg, 'cpu', optimize=False))
    assert not swapped(benchmark.build(vit_cfg, 'cpu'))  # baselines run as built
    assert benchmark.parse_args([sf_cfg, '--no-optimize']).no_optimize
    benchmark.main([sf_cfg, '--no-optimize', '--batch-size', '1', '--shape', '32',
                    '--warmup', '0', '--iters', '1', '--device', 'cpu'])
    assert 'sfmm models plain' in capsys.readouterr().out
