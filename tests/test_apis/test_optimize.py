"""sfmm.apis.optimize_for_inference: same outputs, parameters and keys; plain layers below it."""
import copy
import os
import os.path as osp
import re

import pytest
import torch
from torch import nn

from conftest import REPO_ROOT
from sfmm.apis import InferenceLinear, init_model, optimize_for_inference
from sfmm.apis.optimize import onednn_linear_available
from sfmm.models.backbones import SparseFormer, SparseFormerV1
from sfmm.models.backbones.sparseformer import OUT_KEYS

needs_onednn = pytest.mark.skipif(not onednn_linear_available(), reason='needs oneDNN')
TINY = dict(focus_dims=64, embed_dims=64, num_layers=2, num_heads=2)


def _perturbed(model: nn.Module, seed: int = 0) -> nn.Module:
    """Move every parameter off its (partly zero) initialisation so all branches are live."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if not name.endswith('init_rois.weight'):
                p.add_(torch.randn(p.shape, generator=g) * 0.02)
    return model.eval()


def _tiny(**kwargs) -> SparseFormer:
    cfg = dict(arch=TINY, num_latent_tokens=5, num_points=4, conv_channels=8, focus_repeats=2)
    cfg.update(kwargs)
    return _perturbed(SparseFormer(**cfg))


def _tiny_v1() -> SparseFormerV1:
    return _perturbed(SparseFormerV1(dict(focus_dims=64, embed_dims=128, num_layers=2,
                                          num_latent_tokens=5), num_points=4, conv_channels=8,
                                     focus_repeats=2, out_keys=OUT_KEYS))


def _linears(model: nn.Module):
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


@needs_onednn
@pytest.mark.parametrize('build', [
    lambda: _tiny(out_keys=OUT_KEYS),
    lambda: _tiny(arch=dict(TINY, act='quick_gelu', proj_dims=16), cls_only_last_block=True),
    _tiny_v1,
])
def test_same_outputs_keys_and_parameters(build):
    plain = build()
    fast = optimize_for_inference(copy.deepcopy(plain))
    assert all(type(m) is InferenceLinear for m in _linears(fast))
    assert len(_linears(fast)) == len(_linears(plain))
    assert list(fast.state_dict()) == list(plain.state_dict())
    for k, v in plain.state_dict().items():
        assert torch.equal(fast.state_dict()[k], v), k
    x = torch.randn(3, 3, 48, 40)
    with torch.inference_mode():
        expected, got = plain(x), fast(x)
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


@needs_onednn
def test_parameters_are_shared_and_the_call_is_idempotent():
    model = _tiny()
    params = {n: p for n, p in model.named_parameters()}
    assert optimize_for_inference(model) is model
    assert all(p is params[n] for n, p in model.named_parameters())
    swapped = {n: m for n, m in model.named_modules() if isinstance(m, InferenceLinear)}
    optimize_for_inference(model)
    again = {n: m for n, m in model.named_modules() if isinstance(m, InferenceLinear)}
    assert again.keys() == swapped.keys() and all(again[n] is m for n, m in swapped.items())
    # a weight update reaches the optimised layer (no stale copy)
    with torch.no_grad():
        model.transition.weight.zero_()
        model.transition.bias.fill_(1.)
        out = model.transition(torch.randn(2, 3, 64))
    assert torch.equal(out, torch.ones(2, 3, 64))


@needs_onednn
def test_oneDNN_kernel_only_for_float32_cpu_inference():
    torch.manual_seed(0)
    plain = nn.Linear(8, 6)
    fast = InferenceLinear.from_linear(plain)
    x = torch.randn(2, 4, 8)
    calls = []
    op = torch.ops.mkldnn._linear_pointwise

    def spy(*args):
        calls.append(args[0].shape)
        return op(*args)

    import sfmm.apis.optimize as optimize
    real = optimize._LINEAR_POINTWISE
    optimize._LINEAR_POINTWISE = spy
    try:
        with torch.no_grad():
            torch.testing.assert_close(fast(x), plain(x))
        assert calls == [(8, 8)]
        # autograd, autocast and other dtypes take F.linear
        out = fast(x.requires_grad_())
        out.sum().backward()
        torch.testing.assert_close(plain.weight.grad, fast.weight.grad)
        with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
            assert fast(x).dtype == torch.bfloat16
        with torch.no_grad():
            fast.double()
            assert fast(x.double()).dtype == torch.float64
        assert calls == [(8, 8)]
    finally:
        optimize._LINEAR_POINTWISE = real


@needs_onednn
def test_training_after_optimisation_gets_the_same_gradients():
    plain = _tiny(drop_path_rate=0.)
    fast = optimize_for_inference(copy.deepcopy(plain))
    x = torch.randn(2, 3, 48, 40)
    for model in (plain, fast):
        model.train()
        model(x)[0].sum().backward()
    for (name, a), b in zip(plain.named_parameters(), fast.parameters()):
        torch.testing.assert_close(a.grad, b.grad, msg=name)


def test_leaves_subclasses_and_wrappers_alone():
    class LoRALinear(nn.Linear):
        pass

    model = nn.Sequential(nn.Linear(4, 4), LoRALinear(4, 4),
                          nn.MultiheadAttention(4, 1, batch_first=True))
    optimize_for_inference(model)
    expected = InferenceLinear if onednn_linear_available() else nn.Linear
    assert type(model[0]) is expected
    assert type(model[1]) is LoRALinear
    assert type(model[2].out_proj) is nn.modules.linear.NonDynamicallyQuantizableLinear


@pytest.mark.parametrize('cls_only', [False, True])
def test_forward_hooks_of_a_plain_model_see_every_linear(cls_only):
    """sfmm's layers call their Linear modules: a hook on each one fires on every forward,
    so hooks, LoRA / quantisation wrappers and FLOP counters see every layer."""
    model = _tiny(out_keys=('embed', ), cls_only_last_block=cls_only)  # 2 focusing repeats
    calls = {}
    for name, m in model.named_modules():
        if isinstance(m, nn.Linear):
            m.register_forward_hook(
                lambda mod, args, out, name=name: calls.__setitem__(name, calls.get(name, 0) + 1))
    with torch.no_grad():
        model(torch.randn(1, 3, 32, 32))
    linears = {n for n, m in model.named_modules() if isinstance(m, nn.Linear)}
    assert set(calls) == linears
    for name, count in calls.items():
        assert count == (2 if name.startswith('focus.') else 1), name


def test_no_layer_calls_a_private_torch_op():
    root = osp.join(REPO_ROOT, 'sfmm', 'models')
    offenders = []
    for folder, _, files in os.walk(root):
        for file in files:
            if file.endswith('.py'):
                path = osp.join(folder, file)
                with open(path, encoding='utf-8') as f:
                    if re.search(r'torch\s*\.\s*ops|_linear_pointwise|mkldnn', f.read()):
                        offenders.append(osp.relpath(path, REPO_ROOT))
    assert not offenders


def test_init_model_returns_an_optimized_model_with_the_same_state(tmp_path):
    cfg = osp.join(REPO_ROOT, 'tests/data/configs/tiny_sf_classifier.py')
    model = init_model(cfg)
    assert not model.training and model.backbone.cls_only_last_block
    if onednn_linear_available():
        assert all(type(m) is InferenceLinear for m in _linears(model))
    path = str(tmp_path / 'tiny.pth')
    torch.save(dict(state_dict=model.state_dict()), path)
    again = init_model(cfg, path)  # the saved keys are those of the plain model
    for k, v in model.state_dict().items():
        assert torch.equal(again.state_dict()[k], v)


def test_tracers_and_flop_counters_get_plain_linears():
    """Under a tracer (fvcore's torch.jit.trace, ONNX export, torch.compile) InferenceLinear
    runs F.linear: an optimised model traces and counts like the plain one."""
    from sfmm.utils.flops import count_flops
    plain = _tiny(cls_only_last_block=True)
    fast = optimize_for_inference(copy.deepcopy(plain))
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        graph = str(torch.jit.trace(fast, x, check_trace=False).inlined_graph)
        expected, _ = count_flops(plain, x)
        got, skipped = count_flops(fast, x)
    assert 'mkldnn::' not in graph and 'aten::linear' in graph
    assert got == expected and not any('mkldnn' in op for op in skipped)


@needs_onednn
def test_prepacked_weight_follows_every_weight_change():
    torch.manual_seed(0)
    plain = nn.Linear(16, 8)
    fast = InferenceLinear.from_linear(copy.deepcopy(plain), prepack=True)
    assert fast.prepack
    x = torch.randn(3, 5, 16)
    with torch.inference_mode():
        torch.testing.assert_close(fast(x), plain(x))  # packs the weight
        packed = fast._packed
        assert packed is not None and packed.is_mkldnn
        torch.testing.assert_close(fast(x), plain(x))
        assert fast._packed is packed  # reused while the weight is unchanged
    with torch.no_grad():
        fast.weight.mul_(2.)  # an in-place update (optimizer step, manual edit)
        plain.weight.mul_(2.)
        torch.testing.assert_close(fast(x), plain(x))
        other = nn.Linear(16, 8)
        fast.load_state_dict(other.state_dict())
        torch.testing.assert_close(fast(x), other(x))
    # copies and pickles drop the opaque packed tensor and work like the original
    import io
    buffer = io.BytesIO()
    torch.save(fast, buffer)
    buffer.seek(0)
    for clone in (copy.deepcopy(fast), torch.load(buffer, weights_only=False)):
        assert clone._packed is None and fast._packed is not None
        with torch.no_grad():
            torch.testing.assert_close(clone(x), other(x))
