"""Measure inference or training throughput (images/s) of configs' models, side by side.

Examples:
    python tools/analysis_tools/benchmark.py configs/classification/sf-b_augreg_in1k.py
    python tools/analysis_tools/benchmark.py configs/classification/sf-b_augreg_in1k.py \
        --compare configs/classification/vit-b16_augreg_in1k.py --device cuda --amp \
        --batch-size 128

Each model is built from its config with no checkpoint (random weights; speed does not depend
on them), in eval mode. A model with sfmm modules (a SparseFormer) then goes through
``sfmm.apis.optimize_for_inference`` (oneDNN Linear kernels on CPU), as ``init_model`` does;
``--no-optimize`` times the plain model instead. Models of other libraries (the ViT baselines)
are timed as their libraries build them. Each runs on a random batch through its inference
image path
(``model(x, mode='tensor')``: backbone + head; a zero-shot head uses cached random class
embeddings, its text tower is never run) under ``torch.inference_mode`` (and autocast with
``--amp``: float16 on CUDA, bfloat16 on CPU). After ``--warmup`` rounds, ``--iters`` rounds
are timed. With several configs the models are timed interleaved, one forward each per round
in a rotating order, so they share the same machine state; each forward is timed alone
(CUDA synchronised). Throughput = batch size / median time per forward.

Prints ``throughput: <x> img/s`` (one line per config, suffixed with the config name when
there are several) and, with several configs, ``ratio <first>/<other>: <r>`` for each other.

``--backend onnxruntime`` exports each model to ONNX (``sfmm.deployment.export_onnx``, opset
18, in a temporary directory) and times ONNX Runtime's CPU execution provider on the same
batch, with as many intra-op threads as torch uses; ``--backend both`` times eager and ONNX
Runtime of every config side by side (names suffixed ``[eager]`` / ``[ort]``).
``--compile`` times ``torch.compile(model)`` (inductor) after warm-up rounds that compile it,
and reports the graph breaks of the SparseFormer's focusing part (``torch._dynamo.explain``).
``--amp-compare`` times every model in float32 and under autocast (bf16 on CPU), side by side.
``--model-dtype bfloat16`` (or ``float16``) casts the models' weights and the batch to that
dtype once, as timm's ``benchmark.py --model-dtype`` does, instead of autocast's per-call
casts of float32 weights.

``--mode train`` times a training step of a training config (for a bootstrapping config:
frozen teacher forward, student forward and backward, optimizer step, as mmengine's
``train_step`` does, on a random batch that skips the data pipeline) and prints, per config,
how that time splits: the teacher's forward alone, and the SparseFormer's focusing part
(early conv, focusing unit, transition, final sampling) forward + backward alone, each
timed in the same rounds; ``--profile`` adds ATen op counts per step and the slowest ops
(``torch.profiler``).
"""
import argparse
import os.path as osp
import statistics
import tempfile
import time
import warnings
from collections import Counter
from contextlib import nullcontext
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config, DictAction

BACKENDS = ('pytorch', 'onnxruntime', 'both')
DTYPES = {'float32': torch.float32, 'bfloat16': torch.bfloat16, 'float16': torch.float16}


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Benchmark inference or training throughput')
    parser.add_argument('configs', nargs='+', help='config file path(s)')
    parser.add_argument('--compare', action='append', default=[], metavar='CONFIG',
                        help='another config to time side by side (repeatable)')
    parser.add_argument('--mode', choices=['inference', 'train'], default='inference',
                        help='time inference forwards or training steps')
    parser.add_argument('--backend', choices=BACKENDS, default='pytorch',
                        help='inference: eager PyTorch, ONNX Runtime (CPU), or both side by side')
    parser.add_argument('--compile', action='store_true',
                        help='time torch.compile(model) (inductor); warm-up rounds compile it')
    parser.add_argument('--profile', action='store_true',
                        help='train mode: ATen op counts per step and the slowest ops')
    parser.add_argument('--batch-size', type=int, default=8, help='images per forward')
    parser.add_argument('--shape', type=int, nargs='+', default=[224, 224],
                        help='input size: H W, or one value for a square input')
    parser.add_argument('--amp', action='store_true', help='autocast (fp16 CUDA, bf16 CPU)')
    parser.add_argument('--amp-compare', action='store_true',
                        help='time every model in float32 and under autocast, side by side')
    parser.add_argument('--model-dtype', choices=sorted(DTYPES), default='float32',
                        help='cast weights and inputs to this dtype once (not autocast)')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu',
                        choices=['cpu', 'cuda'], help='device')
    parser.add_argument('--warmup', type=int, default=5, help='untimed rounds')
    parser.add_argument('--iters', type=int, default=20, help='timed rounds')
    parser.add_argument('--num-threads', type=int, default=None,
                        help='torch.set_num_threads (CPU; also ONNX Runtime intra-op threads)')
    parser.add_argument('--no-optimize', action='store_true',
                        help='time sfmm models without sfmm.apis.optimize_for_inference')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override keys of every config (applied last)')
    args = parser.parse_args(argv)
    args.configs = list(args.configs) + list(args.compare)
    if len(args.shape) == 1:
        args.shape = args.shape * 2
    if len(args.shape) != 2:
        parser.error('--shape takes one or two integers')
    if args.iters < 1 or args.warmup < 0 or args.batch_size < 1:
        parser.error('--iters and --batch-size must be >= 1, --warmup >= 0')
    if args.backend != 'pytorch':
        if args.mode == 'train':
            parser.error('--backend onnxruntime times inference only (--mode inference)')
        if args.device != 'cpu':
            parser.error('--backend onnxruntime runs on the CPU execution provider: use '
                         '--device cpu')
        if args.amp or args.compile:
            parser.error('--amp and --compile apply to PyTorch only; ONNX Runtime runs the '
                         'exported float32 graph')
    if args.amp_compare and (args.amp or args.backend != 'pytorch' or args.mode != 'inference'):
        parser.error('--amp-compare times eager inference in float32 and autocast itself '
                     '(without --amp, --backend or --mode train)')
    if args.profile and args.mode != 'train':
        parser.error('--profile goes with --mode train')
    if args.model_dtype != 'float32' and (args.amp or args.amp_compare or args.mode == 'train'
                                          or args.backend != 'pytorch'):
        parser.error(f'--model-dtype {args.model_dtype} times eager inference with cast '
                     f'weights (without --amp, --amp-compare, --mode train or --backend)')
    return args


def build(config: str, device: str, cfg_options: Optional[dict] = None,
          optimize: bool = True, dtype: torch.dtype = torch.float32) -> torch.nn.Module:
    """Build a config's model (no checkpoint) in eval mode on ``device``, wrapped as image path.

    With ``optimize``, a model containing sfmm modules goes through
    :func:`sfmm.apis.optimize_for_inference`; other models are left as built. Its floating
    point parameters and buffers are then cast to ``dtype``.
    """
    from sfmm.apis import optimize_for_inference
    from sfmm.utils.flops import ImagePath
    from sfmm.utils.model_builder import build_model_from_cfg

    model = build_model_from_cfg(_load(config, cfg_options)).to(device).eval()
    if optimize and has_sfmm_modules(model):
        optimize_for_inference(model)
    return ImagePath(model.to(dtype))


def _load(config: str, cfg_options: Optional[dict]) -> Config:
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def has_sfmm_modules(model: torch.nn.Module) -> bool:
    """Whether any submodule of ``model`` is defined in the ``sfmm`` package."""
    return any(type(m).__module__.split('.')[0] == 'sfmm' for m in model.modules())


def onnxruntime_model(model: torch.nn.Module, inputs: torch.Tensor, workdir: str,
                      name: str) -> Callable:
    """Export ``model`` (at the batch of ``inputs``) to ``workdir/name.onnx``; ORT session."""
    from sfmm.deployment.onnx import OnnxRuntimeModule, export_onnx

    path = export_onnx(model.eval(), inputs, osp.join(workdir, f'{name}.onnx'))
    return OnnxRuntimeModule(path, num_threads=torch.get_num_threads())


class Autocast(torch.nn.Module):
    """Runs ``module`` under autocast: float16 on CUDA, bfloat16 on CPU."""

    def __init__(self, module: torch.nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, inputs: torch.Tensor):
        device = inputs.device.type
        dtype = torch.float16 if device == 'cuda' else torch.bfloat16
        with torch.autocast(device_type=device, dtype=dtype):
            return self.module(inputs)


def _sync(device: str) -> None:
    if device == 'cuda':
        torch.cuda.synchronize()


def benchmark(models: Sequence[Callable], inputs: torch.Tensor, warmup: int,
              iters: int, amp: bool = False, grad: bool = False,
              inference_mode: bool = True) -> List[List[float]]:
    """Time interleaved calls of several callables on the same input.

    Args:
        models (Sequence[Callable]): modules (or training steps) taking the image batch.
        inputs (torch.Tensor): the batch ``(B, 3, H, W)``.
        warmup (int): untimed rounds.
        iters (int): timed rounds.
        amp (bool): run under autocast. Defaults to False.
        grad (bool): keep autograd on (training steps). Defaults to False.
        inference_mode (bool): without ``grad``, run under ``torch.inference_mode`` (else
            ``torch.no_grad``: compiled models, whose guards on tensors that inference mode
            creates fail in torch 2.14). Defaults to True.

    Returns:
        list[list[float]]: per model, the seconds of each timed call.
    """
    device = inputs.device.type
    dtype = torch.float16 if device == 'cuda' else torch.bfloat16
    autocast = torch.autocast(device_type=device, dtype=dtype) if amp else nullcontext()
    times: List[List[float]] = [[] for _ in models]
    no_grad = torch.inference_mode() if inference_mode else torch.no_grad()
    with (nullcontext() if grad else no_grad), autocast:
        for step in range(warmup + iters):
            shift = step % len(models)
            for k in list(range(shift, len(models))) + list(range(shift)):
                _sync(device)
                start = time.perf_counter()
                models[k](inputs)
                _sync(device)
                if step >= warmup:
                    times[k].append(time.perf_counter() - start)
    return times


# ---------------------------------------------------------------------------- training steps
class TrainStep:
    """One training step of a config's model on an image batch, as mmengine's ``train_step``.

    ``model(inputs, data_samples, mode='loss')`` -> ``parse_losses`` -> the config's optim
    wrapper ``update_params`` (backward, step, zero grad). The data pipeline and data
    preprocessor are skipped (the batch is already a normalised float tensor). Bootstrapping
    needs no labels; a supervised classifier gets random ones.

    Args:
        config (str): A training config (``model`` and ``optim_wrapper``).
        device (str): Device.
        cfg_options (dict, optional): Overrides. Defaults to None.
        compile (bool): Run the loss forward through ``torch.compile(model)``.
            Defaults to False.
    """

    def __init__(self, config: str, device: str, cfg_options: Optional[dict] = None,
                 compile: bool = False) -> None:
        from mmengine.optim import build_optim_wrapper
        from mmengine.registry import DefaultScope

        from sfmm.utils.model_builder import build_model_from_cfg

        cfg = _load(config, cfg_options)
        if 'optim_wrapper' not in cfg:
            raise ValueError(f'{config}: --mode train needs a training config (no '
                             f'optim_wrapper in it)')
        self.model = build_model_from_cfg(cfg).to(device).train()
        with DefaultScope.overwrite_default_scope(cfg.get('default_scope', None)):
            self.optim_wrapper = build_optim_wrapper(self.model, cfg.optim_wrapper)
        self.forward = torch.compile(self.model) if compile else self.model
        self._samples: Optional[list] = None
        self._num_samples = -1
        backbone = getattr(self.model, 'backbone', None)
        #: The SparseFormer whose focusing part is timed alone (None for other models).
        self.sparseformer = backbone if hasattr(backbone, '_encode') else None
        self.teacher = getattr(self.model, 'teacher', None)

    def _data_samples(self, batch: int) -> Optional[list]:
        if self.teacher is not None:  # bootstrapping: no labels
            return None
        if self._num_samples != batch:
            from mmpretrain.structures import DataSample

            num_classes = getattr(getattr(self.model, 'head', None), 'num_classes', 2)
            labels = torch.randint(num_classes, (batch, ),
                                   generator=torch.Generator().manual_seed(0))
            self._samples = [DataSample().set_gt_label(int(v)) for v in labels]
            self._num_samples = batch
        return self._samples

    def __call__(self, inputs: torch.Tensor) -> None:
        losses = self.forward(inputs, self._data_samples(inputs.shape[0]), mode='loss')
        loss, _ = self.model.parse_losses(losses)
        self.optim_wrapper.update_params(loss)

    def teacher_forward(self, inputs: torch.Tensor) -> None:
        """The frozen teacher's forward alone (as inside the loss: without gradient)."""
        with torch.no_grad():
            self.teacher(inputs)

    def focusing_forward_backward(self, inputs: torch.Tensor) -> None:
        """The SparseFormer's focusing part (everything before the cortex) forward + backward.

        Gradients land on the focusing parameters and are cleared afterwards.
        """
        tokens = self.sparseformer._encode(inputs)[-1]
        tokens.backward(torch.ones_like(tokens))
        self.optim_wrapper.zero_grad()

    def parts(self) -> Dict[str, Callable]:
        """Named callables timed in the same rounds as the step."""
        parts: Dict[str, Callable] = {}
        if self.teacher is not None:
            parts['teacher forward'] = self.teacher_forward
        if self.sparseformer is not None:
            parts['focusing part fwd+bwd'] = self.focusing_forward_backward
        return parts


def op_profile(fn: Callable, inputs: torch.Tensor, top: int = 8) -> Tuple[int, list]:
    """ATen ops dispatched by one call of ``fn`` and the slowest of them, by self CPU time.

    An op counts when no other ATen op called it (ops inside ``aten::linear`` are not counted
    again); backward ops count too.

    Returns:
        tuple[int, list]: the op count, and ``(name, calls, self CPU ms)`` of the ``top`` ops.
    """
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn(inputs)
    events = [e for e in prof.events() if e.name.startswith('aten::')]
    count = sum(1 for e in events
                if e.cpu_parent is None or not e.cpu_parent.name.startswith('aten::'))
    self_ms: Counter = Counter()
    calls: Counter = Counter()
    for e in events:
        self_ms[e.name] += e.self_cpu_time_total / 1e3
        calls[e.name] += 1
    return count, [(n, calls[n], ms) for n, ms in self_ms.most_common(top)]


def graph_breaks(fn: Callable, *args) -> Tuple[int, int, List[str]]:
    """``torch._dynamo.explain``: graphs, graph breaks and their reasons for ``fn(*args)``."""
    import torch._dynamo

    explain = torch._dynamo.explain(fn)(*args)
    reasons = [str(getattr(r, 'reason', r)).splitlines()[0] for r in explain.break_reasons]
    return explain.graph_count, explain.graph_break_count, reasons


def _names(configs: Sequence[str]) -> List[str]:
    names = [osp.splitext(osp.basename(c))[0] for c in configs]
    return [f'{n}#{i}' if names.count(n) > 1 else n for i, n in enumerate(names)]


def _print_results(names: List[str], times: List[List[float]], batch: int) -> Dict[str, float]:
    throughput = {name: batch / statistics.median(t) for name, t in zip(names, times)}
    several = len(names) > 1
    for name in names:
        suffix = f' ({name})' if several else ''
        print(f'throughput: {throughput[name]:.2f} img/s{suffix}')
    for name in names[1:]:
        print(f'ratio {names[0]}/{name}: {throughput[names[0]] / throughput[name]:.3f}')
    # variants (``[eager]`` / ``[ort]``, ``[fp32]`` / ``[bf16]``): also first vs others per variant
    variants = [n[n.index('['):] for n in names if n.endswith(']') and '[' in n]
    for variant in dict.fromkeys(variants):
        same = [n for n in names if n.endswith(variant)]
        for name in same[1:]:
            if same[0] != names[0]:
                print(f'ratio {same[0]}/{name}: {throughput[same[0]] / throughput[name]:.3f}')
    return throughput


def run_train(args: argparse.Namespace, inputs: torch.Tensor) -> Dict[str, float]:
    """``--mode train``: time training steps and their parts; print shares (and profile)."""
    names = _names(args.configs)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        steps = [TrainStep(c, args.device, args.cfg_options, args.compile)
                 for c in args.configs]
    calls: List[Callable] = []
    labels: List[Tuple[int, str]] = []
    for i, step in enumerate(steps):
        calls.append(step)
        labels.append((i, 'step'))
        for part, fn in step.parts().items():
            calls.append(fn)
            labels.append((i, part))
    times = benchmark(calls, inputs, args.warmup, args.iters, args.amp, grad=True)
    median = [statistics.median(t) for t in times]
    print(f'training step, batch {args.batch_size}, {args.shape[0]}x{args.shape[1]}, '
          f'{args.device}, {"amp" if args.amp else "float32"}, threads '
          f'{torch.get_num_threads()}, {args.warmup} warm-up + {args.iters} timed rounds'
          f'{", compiled" if args.compile else ""}')
    step_times = {i: median[k] for k, (i, part) in enumerate(labels) if part == 'step'}
    for k, (i, part) in enumerate(labels):
        if part == 'step':
            print(f'step time: {1e3 * median[k]:.1f} ms ({names[i]})')
        else:
            print(f'  {part}: {1e3 * median[k]:.1f} ms = '
                  f'{100 * median[k] / step_times[i]:.0f}% of the step ({names[i]})')
    throughput = _print_results(names, [times[k] for k, (_, p) in enumerate(labels)
                                        if p == 'step'], args.batch_size)
    if args.profile:
        for i, step in enumerate(steps):
            targets = [('step', step)] + list(step.parts().items())
            for part, fn in targets:
                count, top = op_profile(fn, inputs)
                print(f'ATen ops per {part}: {count} ({names[i]}); slowest (self CPU):')
                for op, n, ms in top:
                    print(f'    {op}: {n} calls, {ms:.1f} ms')
    return throughput


def main(argv: Optional[List[str]] = None) -> Dict[str, float]:
    args = parse_args(argv)
    if args.num_threads is not None:
        torch.set_num_threads(args.num_threads)
    if args.device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('--device cuda: no CUDA device available')
    torch.manual_seed(0)
    inputs = torch.randn(args.batch_size, 3, *args.shape, device=args.device)
    if args.mode == 'train':
        return run_train(args, inputs)
    dtype = DTYPES[args.model_dtype]
    inputs = inputs.to(dtype)

    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        # ONNX export traces the plain layers (InferenceLinear gives F.linear to tracers)
        models = [build(c, args.device, args.cfg_options,
                        not args.no_optimize and args.backend != 'onnxruntime', dtype)
                  for c in args.configs]
    names = _names(args.configs)
    breaks = []
    if args.compile:
        for i, model in enumerate(models):
            inner = model.model
            backbone = getattr(inner, 'backbone', None)
            if hasattr(backbone, '_encode'):
                with torch.no_grad():
                    breaks.append((names[i], graph_breaks(backbone._encode, inputs)))
            models[i] = torch.compile(model)
    if args.amp_compare:
        models = [m for model in models for m in (model, Autocast(model))]
        amp_name = 'fp16' if args.device == 'cuda' else 'bf16'
        names = [f'{n}[{p}]' for n in names for p in ('fp32', amp_name)]
    with tempfile.TemporaryDirectory() as workdir:
        if args.backend != 'pytorch':
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                ort = [onnxruntime_model(m, inputs, workdir, f'm{i}')
                       for i, m in enumerate(models)]
            if args.backend == 'both':
                models = [m for pair in zip(models, ort) for m in pair]
                names = [f'{n}[{b}]' for n in names for b in ('eager', 'ort')]
            else:
                models = ort
        times = benchmark(models, inputs, args.warmup, args.iters, args.amp,
                          inference_mode=not args.compile)
    backend = {'pytorch': 'eager', 'onnxruntime': 'onnxruntime',
               'both': 'eager and onnxruntime'}[args.backend]
    print(f'batch {args.batch_size}, {args.shape[0]}x{args.shape[1]}, {args.device}, '
          f'{"amp" if args.amp else "float32 and amp" if args.amp_compare else args.model_dtype}, '
          f'threads {torch.get_num_threads()}, {args.warmup} warm-up + {args.iters} timed '
          f'rounds, {backend}'
          f'{", compiled" if args.compile else ""}, sfmm models '
          f'{"plain" if args.no_optimize or args.backend == "onnxruntime" else "optimized"}')
    for name, (graphs, count, reasons) in breaks:
        print(f'focusing part under torch.compile: {graphs} graph(s), {count} graph '
              f'break(s) ({name}){": " + "; ".join(reasons) if reasons else ""}')
    return _print_results(names, times, args.batch_size)


if __name__ == '__main__':
    main()
