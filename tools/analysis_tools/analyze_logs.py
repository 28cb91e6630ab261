"""Plot training curves from mmengine json logs.

    python tools/analysis_tools/analyze_logs.py \
        work_dirs/x/20261124_101010/vis_data/20261124_101010.json \
        --keys loss lr accuracy/top1 --out curves.png

Each key gets its own panel against the training iteration. Validation metrics (logged once
per validation, with ``step`` = epoch or iteration) are plotted at their logged step; pass
several logs to compare runs (legend = the log's run directory).
"""
import argparse
import json
import os.path as osp
from collections import defaultdict
from typing import Dict, List, Optional, Tuple


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Plot curves from mmengine json logs')
    parser.add_argument('json_logs', nargs='+', help='json logs (vis_data/*.json)')
    parser.add_argument('--keys', nargs='+', default=['loss'], help='scalars to plot')
    parser.add_argument('--out', required=True, help='output PNG')
    parser.add_argument('--title', default=None)
    return parser.parse_args(argv)


def load_json_log(path: str) -> Dict[str, List[Tuple[float, float]]]:
    """Read one mmengine json log into ``{key: [(step, value), ...]}``.

    Training lines carry ``iter`` (per epoch when training by epoch) and ``step`` (the global
    iteration); validation lines carry only ``step``.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'log file not found: {path}')
    curves: Dict[str, List[Tuple[float, float]]] = defaultdict(list)
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f'{path}:{lineno} is not a json line: {e}') from e
            step = record.get('step', record.get('iter'))
            for key, value in record.items():
                if key in ('step', 'iter', 'epoch') or not isinstance(value, (int, float)):
                    continue
                curves[key].append((step, float(value)))
    return dict(curves)


def plot_curves(logs: List[str], keys: List[str], out: str, title: Optional[str] = None) -> str:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    data = [(osp.basename(osp.dirname(osp.dirname(osp.abspath(p)))) or p, load_json_log(p))
            for p in logs]
    missing = [k for k in keys if not any(k in curves for _, curves in data)]
    if missing:
        available = sorted({k for _, curves in data for k in curves})
        raise KeyError(f'keys {missing} are in none of the logs; available: {available}')
    fig, axes = plt.subplots(len(keys), 1, figsize=(6, 2.4 * len(keys)), squeeze=False)
    for ax, key in zip(axes[:, 0], keys):
        for name, curves in data:
            if key in curves:
                steps, values = zip(*curves[key])
                ax.plot(steps, values, marker='.' if len(steps) < 50 else None, label=name)
        ax.set_ylabel(key)
        ax.set_xlabel('step')
        ax.grid(alpha=0.3)
        if len(data) > 1:
            ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def main(argv: Optional[List[str]] = None) -> str:
    args = parse_args(argv)
    out = plot_curves(args.json_logs, args.keys, args.out, args.title)
    print(out)
    return out


if __name__ == '__main__':
    main()
