"""How fast a Linear layer runs when its weights stream from memory instead of cache.

    python tools/analysis_tools/linear_bandwidth.py --rows 49 --num-threads 2
    python tools/analysis_tools/linear_bandwidth.py --rows 197 --total-mb 9 340

At batch 1 a SparseFormer multiplies only 49 token rows by each weight matrix, so every weight
element is used 49 times per forward. Whether that is fast depends on where the weights come
from. This tool times sfmm's inference Linear (``InferenceLinear``: oneDNN, prepacked weights,
as ``init_model`` and ``benchmark.py`` run it) at ``--rows`` rows. It cycles through as many
``--in-features`` x ``--out-features`` weight matrices as make up each ``--total-mb``
(float32): a few MB stay in cache, and a model-sized set (SF-B's Linear weights are about
256 MB) has to be read from beyond the caches on each pass. For each size it prints the
compute rate (GMAC/s) and the rate at which weights are read (GB/s).
"""
import argparse
import statistics
import time
from typing import List, Optional

import torch
from torch import nn

#: Fewest timed layer calls per weight set size.
MIN_CALLS = 100


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Linear throughput against weight set size')
    parser.add_argument('--rows', type=int, default=49, help='input rows (tokens x batch)')
    parser.add_argument('--in-features', type=int, default=768)
    parser.add_argument('--out-features', type=int, default=3072)
    parser.add_argument('--total-mb', type=float, nargs='+', default=[9, 38, 256],
                        help='float32 weight set sizes to cycle through (MB)')
    parser.add_argument('--passes', type=int, default=5,
                        help='timed passes over each set (more for small sets: at least '
                        '100 calls per set)')
    parser.add_argument('--num-threads', type=int, default=None)
    args = parser.parse_args(argv)
    if min(args.rows, args.in_features, args.out_features, args.passes) < 1:
        parser.error('--rows, --in-features, --out-features and --passes must be >= 1')
    if min(args.total_mb) <= 0:
        parser.error(f'--total-mb must be positive, got {args.total_mb}')
    return args


def measure(rows: int, in_features: int, out_features: int, copies: int,
            passes: int) -> dict:
    """Time ``copies`` Linear layers called in turn on a ``(rows, in_features)`` input.

    Returns:
        dict: ``mb`` (weights, float32), ``ms`` (median time per layer call), ``gmacs``
        and ``gbps`` (weights read per second).
    """
    from sfmm.apis import optimize_for_inference

    layers = optimize_for_inference(nn.Sequential(*[
        nn.Linear(in_features, out_features) for _ in range(copies)]))
    x = torch.randn(rows, in_features)
    per_call = []
    with torch.inference_mode():
        for layer in layers:  # first calls pack the weights
            layer(x)
        for _ in range(passes):
            start = time.perf_counter()
            for layer in layers:
                layer(x)
            per_call.append((time.perf_counter() - start) / copies)
    seconds = statistics.median(per_call)
    weight_bytes = 4 * in_features * out_features
    return dict(mb=copies * weight_bytes / 1e6, ms=1e3 * seconds,
                gmacs=rows * in_features * out_features / seconds / 1e9,
                gbps=weight_bytes / seconds / 1e9)


def main(argv: Optional[List[str]] = None) -> List[dict]:
    args = parse_args(argv)
    if args.num_threads is not None:
        torch.set_num_threads(args.num_threads)
    matrix_mb = 4 * args.in_features * args.out_features / 1e6
    print(f'Linear {args.in_features} -> {args.out_features} ({matrix_mb:.1f} MB float32) '
          f'at {args.rows} rows, {torch.get_num_threads()} threads, {args.passes} passes')
    results = []
    for total in args.total_mb:
        copies = max(1, round(total / matrix_mb))
        passes = max(args.passes, -(-MIN_CALLS // copies))
        result = measure(args.rows, args.in_features, args.out_features, copies, passes)
        print(f'{copies:4d} weight matrices, {result["mb"]:7.1f} MB: {result["ms"]:.3f} ms '
              f'per call, {result["gmacs"]:.0f} GMAC/s, weights read at '
              f'{result["gbps"]:.1f} GB/s')
        results.append(result)
    return results


if __name__ == '__main__':
    main()
