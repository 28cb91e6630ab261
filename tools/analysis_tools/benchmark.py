"""Measure inference throughput (images/s) of one or more configs' image models, side by side.

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
"""
import argparse
import os.path as osp
import statistics
import time
import warnings
from contextlib import nullcontext
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.config import Config, DictAction


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Benchmark inference throughput')
    parser.add_argument('configs', nargs='+', help='config file path(s)')
    parser.add_argument('--compare', action='append', default=[], metavar='CONFIG',
                        help='another config to time side by side (repeatable)')
    parser.add_argument('--batch-size', type=int, default=8, help='images per forward')
    parser.add_argument('--shape', type=int, nargs='+', default=[224, 224],
                        help='input size: H W, or one value for a square input')
    parser.add_argument('--amp', action='store_true', help='autocast (fp16 CUDA, bf16 CPU)')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu',
                        choices=['cpu', 'cuda'], help='device')
    parser.add_argument('--warmup', type=int, default=5, help='untimed rounds')
    parser.add_argument('--iters', type=int, default=20, help='timed rounds')
    parser.add_argument('--num-threads', type=int, default=None,
                        help='torch.set_num_threads (CPU)')
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
    return args


def build(config: str, device: str, cfg_options: Optional[dict] = None,
          optimize: bool = True) -> torch.nn.Module:
    """Build a config's model (no checkpoint) in eval mode on ``device``, wrapped as image path.

    With ``optimize``, a model containing sfmm modules goes through
    :func:`sfmm.apis.optimize_for_inference`; other models are left as built.
    """
    from sfmm.apis import optimize_for_inference
    from sfmm.utils.flops import ImagePath
    from sfmm.utils.model_builder import build_model_from_cfg

    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    model = build_model_from_cfg(cfg).to(device).eval()
    if optimize and has_sfmm_modules(model):
        optimize_for_inference(model)
    return ImagePath(model)


def has_sfmm_modules(model: torch.nn.Module) -> bool:
    """Whether any submodule of ``model`` is defined in the ``sfmm`` package."""
    return any(type(m).__module__.split('.')[0] == 'sfmm' for m in model.modules())


def _sync(device: str) -> None:
    if device == 'cuda':
        torch.cuda.synchronize()


def benchmark(models: Sequence[torch.nn.Module], inputs: torch.Tensor, warmup: int,
              iters: int, amp: bool = False) -> List[List[float]]:
    """Time interleaved forwards of several models on the same input.

    Args:
        models (Sequence[nn.Module]): modules taking the image batch.
        inputs (torch.Tensor): the batch ``(B, 3, H, W)``.
        warmup (int): untimed rounds.
        iters (int): timed rounds.
        amp (bool): run under autocast. Defaults to False.

    Returns:
        list[list[float]]: per model, the seconds of each timed forward.
    """
    device = inputs.device.type
    dtype = torch.float16 if device == 'cuda' else torch.bfloat16
    autocast = torch.autocast(device_type=device, dtype=dtype) if amp else nullcontext()
    times: List[List[float]] = [[] for _ in models]
    with torch.inference_mode(), autocast:
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


def main(argv: Optional[List[str]] = None) -> Dict[str, float]:
    args = parse_args(argv)
    if args.num_threads is not None:
        torch.set_num_threads(args.num_threads)
    if args.device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('--device cuda: no CUDA device available')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        models = [build(c, args.device, args.cfg_options, not args.no_optimize)
                  for c in args.configs]
    torch.manual_seed(0)
    inputs = torch.randn(args.batch_size, 3, *args.shape, device=args.device)
    times = benchmark(models, inputs, args.warmup, args.iters, args.amp)

    names = [osp.splitext(osp.basename(c))[0] for c in args.configs]
    names = [f'{n}#{i}' if names.count(n) > 1 else n for i, n in enumerate(names)]
    throughput = {}
    for name, t in zip(names, times):
        throughput[name] = args.batch_size / statistics.median(t)
    print(f'batch {args.batch_size}, {args.shape[0]}x{args.shape[1]}, {args.device}, '
          f'{"amp" if args.amp else "float32"}, threads {torch.get_num_threads()}, '
          f'{args.warmup} warm-up + {args.iters} timed rounds, sfmm models '
          f'{"plain" if args.no_optimize else "optimized"}')
    several = len(names) > 1
    for name in names:
        suffix = f' ({name})' if several else ''
        print(f'throughput: {throughput[name]:.2f} img/s{suffix}')
    for name in names[1:]:
        print(f'ratio {names[0]}/{name}: {throughput[names[0]] / throughput[name]:.3f}')
    return throughput


if __name__ == '__main__':
    main()
