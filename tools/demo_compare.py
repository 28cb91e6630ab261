"""Compare bootstrapping with two baselines on the demo data (paper Table 3, at demo scale).

    python tools/demo.py            # first: data, teacher and the bootstrapped student
    python tools/demo_compare.py    # then: the baselines, and a markdown table

Rows, all the same SparseFormer (15 latent tokens + [CLS]) trained for the same number of
epochs on the same images, evaluated by mmpretrain's Accuracy on the demo val split:

- bootstrapping (no labels): ``configs/demo/sf-demo_vit-demo.py``, reused from tools/demo.py;
- KL distillation from the teacher's logits (tau = 3, no labels, weights inherited the same
  way): ``configs/demo/sf-demo_vit-demo_kl.py``;
- supervised from scratch (labels, nothing inherited): ``configs/demo/sf-demo_scratch_demo-in.py``.

The teacher row is the demo's ViT. Each baseline's weights go to ``<work-dir>/compare/`` and
are reused on a re-run with the same settings (``--fresh`` retrains them). The table is
printed and written to ``<work-dir>/compare.md`` (and ``compare.json``).
"""
import argparse
import json
import os
import os.path as osp
import sys
import time
from typing import List, Optional

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import demo  # noqa: E402  (tools/demo.py: stages and helpers)

KL_CFG = osp.join(demo.CONFIG_DIR, 'sf-demo_vit-demo_kl.py')
SCRATCH_CFG = osp.join(demo.CONFIG_DIR, 'sf-demo_scratch_demo-in.py')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Bootstrapping vs KL distillation vs training from scratch (demo data)')
    parser.add_argument('--work-dir', default='work_dirs/demo', help="tools/demo.py's work dir")
    parser.add_argument('--fresh', action='store_true', help='retrain the baselines')
    parser.add_argument('--log-interval', type=int, default=10)
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads for training (default 1, see tools/demo.py)')
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> List[dict]:
    from mmengine.config import Config

    from sfmm.weights import register_mmengine_safe_globals
    register_mmengine_safe_globals()
    start = time.time()
    summary_file = osp.join(args.work_dir, 'summary.json')
    if not osp.isfile(summary_file):
        raise FileNotFoundError(f'{summary_file} not found: run `python tools/demo.py` first')
    with open(summary_file) as f:
        summary = json.load(f)
    s_settings = summary['settings']
    t_settings = s_settings['t_settings']
    data_root = t_settings['data_root']
    epochs, lr = s_settings['epochs'], s_settings['lr']
    batch = t_settings['batch_size']
    teacher_ckpt = osp.join(args.work_dir, 'teacher.pth')
    out_dir = osp.join(args.work_dir, 'compare')
    os.makedirs(out_dir, exist_ok=True)
    stages_file = osp.join(out_dir, 'stages.json')
    stages = {} if args.fresh else demo._load_stages(stages_file)
    student_cfg = Config.fromfile(demo.STUDENT_CFG)
    demo.set_data(student_cfg, data_root, batch)
    student_cfg.work_dir = osp.join(out_dir, 'eval')

    rows = [dict(method='teacher: ViT, 64 + 1 tokens (trained with labels)', labels='yes',
                 top1=summary['teacher_top1'], gflops=summary['teacher_gflops']),
            dict(method='bootstrapping (1 - cos), 15 + 1 tokens', labels='no',
                 top1=summary['student_top1'], gflops=summary['student_gflops'])]
    for name, cfg_path, labels, title in (
            ('kl', KL_CFG, 'no', 'KL distillation (tau = 3), 15 + 1 tokens'),
            ('scratch', SCRATCH_CFG, 'yes', 'supervised from scratch, 15 + 1 tokens')):
        ckpt = osp.join(out_dir, f'{name}.pth')
        settings = dict(s_settings, baseline=name)
        demo._banner(f'{name}: {title}, {epochs} epochs -> {ckpt}', start)
        if demo._stage_done(stages, name, settings, ckpt):
            print('finished earlier with the same settings, reused', flush=True)
        else:
            cfg = Config.fromfile(cfg_path)
            demo.set_data(cfg, data_root, batch)
            cfg.work_dir = osp.join(out_dir, name)
            cfg.randomness = dict(seed=t_settings['seed'], deterministic=False)
            if cfg.model.type == 'sfmm.Bootstrapper':
                cfg.model.teacher.init_cfg.checkpoint = teacher_ckpt
            demo.set_schedule(cfg, epochs, lr, args.log_interval)
            demo.train(cfg, ckpt, args.log_interval, args.threads or 1)
            demo._mark(stages, stages_file, name, settings)
        top1 = float(demo.evaluate(student_cfg, ckpt)['accuracy/top1'])
        print(f'{name} top-1 {top1:.2f}', flush=True)
        rows.append(dict(method=title, labels=labels, top1=round(top1, 2),
                         gflops=summary['student_gflops']))

    teacher_top1 = max(summary['teacher_top1'], 1e-6)
    lines = ['| Method | Labels used | Top-1 (%) | vs teacher | GFLOPs |',
             '|---|---|---|---|---|']
    for r in rows:
        lines.append(f"| {r['method']} | {r['labels']} | {r['top1']:.2f} | "
                     f"{r['top1'] / teacher_top1:.3f} | {r['gflops']:.4f} |")
    table = '\n'.join(lines)
    note = (f"\nDemo data: {t_settings['num_train']} train / {t_settings['num_val']} val "
            f"images, 8 classes, 64x64; every student: {epochs} epochs, lr {lr}, batch {batch}.")
    with open(osp.join(args.work_dir, 'compare.md'), 'w') as f:
        f.write(table + '\n' + note + '\n')
    with open(osp.join(args.work_dir, 'compare.json'), 'w') as f:
        json.dump(rows, f, indent=1)
    print('\n' + table + '\n' + note, flush=True)
    return rows


def main(argv: Optional[List[str]] = None) -> List[dict]:
    import warnings
    args = parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return run(args)


if __name__ == '__main__':
    main()
