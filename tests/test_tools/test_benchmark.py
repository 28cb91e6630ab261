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


def _tiny_bootstrap_cfg(tmp_path, repo_root):
    """The demo bootstrapping config, shrunk (random teacher; nothing is read)."""
    path = tmp_path / 'boot.py'
    path.write_text(f"""
_base_ = ['{repo_root}/configs/demo/sf-demo_vit-demo-fashion.py']
model = dict(
    backbone=dict(arch=dict(_delete_=True, focus_dims=64, embed_dims=32, num_layers=2,
                            num_heads=2), num_latent_tokens=4, num_points=4),
    teacher=dict(arch=dict(_delete_=True, embed_dims=32, num_layers=3, num_heads=2,
                           feedforward_channels=64), img_size=32),
    head=dict(in_channels=32),
    inherit=dict(truncate=1))
""")
    return str(path)


def test_train_mode_times_steps_and_their_parts(tmp_path, repo_root, capsys):
    boot = _tiny_bootstrap_cfg(tmp_path, repo_root)
    result = benchmark.main([boot, '--mode', 'train', '--batch-size', '2', '--shape', '32',
                             '--warmup', '1', '--iters', '2', '--num-threads', '1',
                             '--profile'])
    out = capsys.readouterr().out
    assert result['boot'] > 0
    step = float(re.search(r'step time: ([0-9.]+) ms \(boot\)', out).group(1))
    teacher = float(re.search(r'teacher forward: ([0-9.]+) ms', out).group(1))
    focusing = float(re.search(r'focusing part fwd\+bwd: ([0-9.]+) ms', out).group(1))
    assert 0 < teacher < step and 0 < focusing < step
    ops = {m.group(1): int(m.group(2))
           for m in re.finditer(r'ATen ops per (.+?): (\d+) \(boot\)', out)}
    assert set(ops) == {'step', 'teacher forward', 'focusing part fwd+bwd'}
    # the step runs the focusing part forward and backward, and more
    assert ops['step'] > ops['focusing part fwd+bwd'] > ops['teacher forward'] > 0


def test_train_step_updates_the_student_only(tmp_path, repo_root):
    step = benchmark.TrainStep(_tiny_bootstrap_cfg(tmp_path, repo_root), 'cpu')
    before = {k: v.clone() for k, v in step.model.state_dict().items()}
    x = torch.randn(2, 3, 32, 32)
    step(x)
    step.focusing_forward_backward(x)  # leaves no gradient behind
    assert all(p.grad is None or not p.grad.any() for p in step.model.parameters())
    after = step.model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert any(k.startswith('backbone.focus.') for k in changed)
    assert not any(k.startswith('teacher.') for k in changed)


def test_train_mode_refuses_a_config_without_optimizer(tmp_path):
    with pytest.raises(ValueError, match='no optim_wrapper'):
        benchmark.TrainStep(_config(tmp_path, 'vit', 16), 'cpu')


def test_amp_compare_and_onnxruntime_backend(tmp_path, repo_root, capsys):
    sf_cfg = f'{repo_root}/tests/data/configs/tiny_sf_classifier.py'
    common = ['--batch-size', '2', '--shape', '32', '--warmup', '1', '--iters', '2',
              '--num-threads', '1']
    result = benchmark.main([sf_cfg, '--amp-compare'] + common)
    assert set(result) == {'tiny_sf_classifier[fp32]', 'tiny_sf_classifier[bf16]'}
    result = benchmark.main([sf_cfg, '--backend', 'both'] + common)
    assert set(result) == {'tiny_sf_classifier[eager]', 'tiny_sf_classifier[ort]'}
    out = capsys.readouterr().out
    assert 'eager and onnxruntime' in out and 'sfmm models optimized' in out
    for bad in (['--backend', 'onnxruntime', '--amp'], ['--backend', 'onnxruntime', '--compile'],
                ['--backend', 'both', '--mode', 'train'], ['--profile'],
                ['--amp-compare', '--amp']):
        with pytest.raises(SystemExit):
            benchmark.parse_args([sf_cfg] + bad)


def test_focusing_part_compiles_without_graph_breaks(repo_root):
    from sfmm.apis import optimize_for_inference
    model = benchmark.build(f'{repo_root}/tests/data/configs/tiny_sf_classifier.py', 'cpu')
    optimize_for_inference(model)  # its oneDNN Linear must not break dynamo's graph
    with torch.no_grad():
        graphs, breaks, reasons = benchmark.graph_breaks(model.model.backbone._encode,
                                                         torch.randn(2, 3, 32, 32))
    assert (graphs, breaks) == (1, 0), reasons


def test_model_dtype_casts_weights_once(tmp_path, repo_root, capsys):
    """--model-dtype bfloat16: a SparseFormer runs with bf16 weights and inputs (no autocast),
    close to its float32 outputs."""
    sf_cfg = f'{repo_root}/tests/data/configs/tiny_sf_classifier.py'
    model = benchmark.build(sf_cfg, 'cpu')
    half = benchmark.build(sf_cfg, 'cpu', dtype=torch.bfloat16)
    assert {p.dtype for p in half.parameters()} == {torch.bfloat16}
    half.load_state_dict(model.state_dict())  # the same weights, rounded to bf16
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        ref, out = model(x), half(x.bfloat16())
    assert out.dtype == torch.bfloat16
    assert ((out.float() - ref).norm() / ref.norm()).item() < 3e-2
    result = benchmark.main([sf_cfg, '--model-dtype', 'bfloat16', '--batch-size', '2',
                             '--shape', '32', '--warmup', '1', '--iters', '2',
                             '--num-threads', '1'])
    assert result['tiny_sf_classifier'] > 0 and ', bfloat16, ' in capsys.readouterr().out
    for bad in (['--amp'], ['--amp-compare'], ['--mode', 'train'], ['--backend', 'both']):
        with pytest.raises(SystemExit):
            benchmark.parse_args([sf_cfg, '--model-dtype', 'bfloat16'] + bad)
