"""The paper's Table 3 at demo scale: bootstrapping against its ablations and baselines.

    python tools/demo.py            # first: data and the bootstrapped student (seed 0)
    python tools/demo_compare.py    # then: every row below, 3 seeds, and a markdown table

Every row trains the demo SparseFormer (15 latent tokens + [CLS]) and evaluates it through
mmpretrain's Accuracy on the official Fashion-MNIST test split (10,000 canvases). As the
paper's footnote asks, the bootstrapping rows share the data subset, the trainable set
and the epochs of ``tools/demo.py``'s student (configs/demo/sf-demo_vit-demo-fashion*.py):

- bootstrapping (1 - cos of the final [CLS] embeddings, no labels): the demo's recipe;
- KL distillation on the teacher's logits, tau 5 and tau 3, instead of the cosine (no labels);
- with cls loss: the cosine plus the classifier's cross-entropy on the subset's labels;
- without weight reuse: the cortex and final norm start from random weights;
- from scratch with labels, on the same subset for the same epochs;
- from scratch with labels on all 60,000 labelled training canvases for the teacher's
  pre-training epochs (the paper's "300 epochs from scratch" row; one seed by default).

Runs go ``--jobs`` at a time (default 2), each in its own process on one torch thread (the
demo's SparseFormer trains fastest that way on this 2-core machine). Weights and scores go
to ``<work-dir>/compare/<row>_s<seed>.{pth,json}`` and are reused on a re-run with the same
settings (``--fresh`` retrains). The table is printed and written to
``<work-dir>/compare.md`` (and ``compare.json``): mean and standard deviation over seeds.
"""
import argparse
import json
import os
import os.path as osp
import shutil
import statistics
import subprocess
import sys
import time
from typing import Dict, List, Optional

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import demo  # noqa: E402  (tools/demo.py: stages and helpers)

#: name -> (config, labels used, title, paper Table 3 top-1 or None)
ROWS = {
    'bootstrap': ('sf-demo_vit-demo-fashion.py', 'no', 'bootstrapping (1 - cos)', 82.5),
    'kl-tau5': ('sf-demo_vit-demo-fashion_kl-tau5.py', 'no', 'KL distillation, tau 5', 81.5),
    'kl-tau3': ('sf-demo_vit-demo-fashion_kl-tau3.py', 'no', 'KL distillation, tau 3', 81.0),
    'cls-loss': ('sf-demo_vit-demo-fashion_cls-loss.py', 'yes', 'bootstrapping with cls loss',
                 77.4),
    'no-reuse': ('sf-demo_vit-demo-fashion_no-reuse.py', 'no',
                 'bootstrapping without weight reuse', 69.5),
    'scratch': ('sf-demo_scratch_fashion-canvas.py', 'yes',
                'from scratch, same subset and epochs', None),
    'scratch-full': ('sf-demo_scratch_fashion-canvas.py', 'yes',
                     "from scratch, all labelled images, the teacher's epochs", 80.0),
}


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Table 3 at demo scale: bootstrapping vs its ablations and baselines")
    parser.add_argument('--work-dir', default='work_dirs/demo', help="tools/demo.py's work dir")
    parser.add_argument('--rows', nargs='+', choices=sorted(ROWS), default=list(ROWS))
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--full-seeds', type=int, nargs='+', default=[0],
                        help='seeds of the long from-scratch row')
    parser.add_argument('--full-epochs', type=int, default=None,
                        help="epochs of the long from-scratch row (default: the teacher's)")
    parser.add_argument('--jobs', type=int, default=2, help='runs at a time')
    parser.add_argument('--fresh', action='store_true', help='retrain every row')
    parser.add_argument('--log-interval', type=int, default=50)
    parser.add_argument('--worker', default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def run_one(job: dict) -> dict:
    """Train and evaluate one (row, seed) in this process; write and return its record."""
    import torch
    from mmengine.config import Config

    from sfmm.weights import register_mmengine_safe_globals
    register_mmengine_safe_globals()
    torch.set_num_threads(1)
    cfg = Config.fromfile(osp.join(demo.CONFIG_DIR, ROWS[job['row']][0]))
    demo.set_data(cfg, job['root'], job['batch_size'])
    if job['ann_file']:
        cfg.train_dataloader.dataset.ann_file = job['ann_file']
    cfg.work_dir = job['out'] + '_work'
    cfg.randomness = dict(seed=job['seed'], deterministic=False)
    if cfg.model.type == 'sfmm.Bootstrapper':
        cfg.model.teacher.init_cfg.checkpoint = job['teacher']
    demo.set_schedule(cfg, job['epochs'], job['lr'], job['log_interval'])
    t0 = time.time()
    demo.train(cfg, job['out'] + '.pth', job['log_interval'])
    train_s = time.time() - t0
    eval_cfg = Config.fromfile(job['student_cfg'])
    demo.set_data(eval_cfg, job['root'])
    eval_cfg.work_dir = job['out'] + '_eval'
    top1 = float(demo.evaluate(eval_cfg, job['out'] + '.pth')['accuracy/top1'])
    shutil.rmtree(job['out'] + '_work', ignore_errors=True)
    shutil.rmtree(job['out'] + '_eval', ignore_errors=True)
    record = dict(job, top1=round(top1, 2), train_s=round(train_s, 1))
    with open(job['out'] + '.json.tmp', 'w') as f:
        json.dump(record, f, indent=1)
    os.replace(job['out'] + '.json.tmp', job['out'] + '.json')
    return record


def _done(job: dict) -> Optional[dict]:
    path = job['out'] + '.json'
    if not (osp.isfile(path) and osp.isfile(job['out'] + '.pth')):
        return None
    with open(path) as f:
        record = json.load(f)
    same = all(record.get(k) == v for k, v in job.items())
    return record if same else None


def run_jobs(jobs: List[dict], parallel: int, start: float) -> List[dict]:
    """Run the jobs not done yet, ``parallel`` worker processes at a time."""
    todo = [j for j in jobs if _done(j) is None]
    print(f'{len(jobs) - len(todo)} of {len(jobs)} runs reused, {len(todo)} to train '
          f'({parallel} at a time)', flush=True)
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    running: Dict[subprocess.Popen, dict] = {}
    failed = []
    while todo or running:
        while todo and len(running) < max(1, parallel):
            job = todo.pop(0)
            log = open(job['out'] + '.log', 'w')
            proc = subprocess.Popen([sys.executable, osp.abspath(__file__), '--worker',
                                     json.dumps(job)], stdout=log, stderr=subprocess.STDOUT,
                                    env=env)
            running[proc] = job
            demo._banner(f"started {job['row']} seed {job['seed']} ({job['epochs']} epochs) "
                         f"-> {job['out']}.log", start)
        time.sleep(2)
        for proc in [p for p in running if p.poll() is not None]:
            job = running.pop(proc)
            record = _done(job)
            if proc.returncode or record is None:
                failed.append(f"{job['row']} seed {job['seed']}: exit {proc.returncode}, see "
                              f"{job['out']}.log")
            else:
                demo._banner(f"{job['row']} seed {job['seed']}: top-1 {record['top1']:.2f} "
                             f"({record['train_s']:.0f}s)", start)
    if failed:
        raise RuntimeError('runs failed: ' + '; '.join(failed))
    return [_done(j) for j in jobs]


def make_table(rows: List[dict], summary: dict, note: str) -> str:
    teacher = max(float(summary['teacher_top1']), 1e-6)
    lines = ['| Method | Labels | Top-1 (%), mean ± std | seeds | per seed | x teacher | '
             'paper (IN-1K) |', '|---|---|---|---|---|---|---|',
             f"| teacher: ViT pre-trained with labels (shipped) | yes | "
             f"{summary['teacher_top1']:.2f} | - | - | 1.000 | - |"]
    for r in rows:
        std = f" ± {r['std']:.2f}" if r['std'] is not None else ''
        paper = f"{r['paper']:.1f}" if r['paper'] is not None else '-'
        lines.append(f"| {r['method']} | {r['labels']} | {r['mean']:.2f}{std} | "
                     f"{len(r['top1'])} | {' / '.join(f'{v:.2f}' for v in r['top1'])} | "
                     f"{r['mean'] / teacher:.3f} | {paper} |")
    return '\n'.join(lines) + '\n\n' + note + '\n'


def run(args: argparse.Namespace) -> List[dict]:
    start = time.time()
    summary_file = osp.join(args.work_dir, 'summary.json')
    if not osp.isfile(summary_file):
        raise FileNotFoundError(f'{summary_file} not found: run `python tools/demo.py` first')
    with open(summary_file) as f:
        summary = json.load(f)
    if summary.get('dataset') != 'fashion':
        raise ValueError(f"{summary_file}: the comparison runs on the Fashion-MNIST canvases; "
                         f"this demo ran on {summary.get('dataset')!r} "
                         f"(run `python tools/demo.py --dataset fashion`)")
    s = summary['settings']
    t = s['t_settings']
    data_root = t['data_root']
    root = osp.join(data_root, demo.DATASETS['fashion']['root'])
    teacher = summary['teacher_checkpoint']
    record_file = osp.splitext(teacher)[0] + '.json'
    with open(record_file) as f:
        teacher_epochs = args.full_epochs or int(json.load(f)['epochs'])
    out_dir = osp.join(args.work_dir, 'compare')
    if args.fresh and osp.isdir(out_dir):
        shutil.rmtree(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    all_file = osp.join(root, 'meta', f'train{demo.PRETRAIN_LISTS}.txt')
    if 'scratch-full' in args.rows:  # all labelled training canvases (written if needed)
        demo.write_data('fashion', data_root, None, None, t['seed'], pretrain=True)
    full_n = demo.count_lines(all_file) if osp.isfile(all_file) else 60000
    base = dict(root=root, teacher=teacher, batch_size=s['batch_size'], lr=s['lr'],
                log_interval=args.log_interval, student_cfg=osp.join(
                    demo.CONFIG_DIR, demo.DATASETS['fashion']['student_cfg']),
                teacher_sha256=t['sha256'], num_train=t['num_train'])
    jobs = []
    for row in args.rows:
        full = row == 'scratch-full'
        for seed in (args.full_seeds if full else args.seeds):
            jobs.append(dict(base, row=row, seed=seed,
                             epochs=teacher_epochs if full else s['epochs'],
                             ann_file=f'meta/train{demo.PRETRAIN_LISTS}.txt' if full else None,
                             out=osp.join(out_dir, f'{row}_s{seed}')))
    # the long run first, so that the short ones fill the other slots around it
    records = run_jobs(sorted(jobs, key=lambda j: j['row'] != 'scratch-full'), args.jobs, start)
    rows = []
    for row in args.rows:
        vals = [r['top1'] for r in sorted(records, key=lambda r: r['seed']) if r['row'] == row]
        rows.append(dict(row=row, method=ROWS[row][2], labels=ROWS[row][1], top1=vals,
                         mean=statistics.mean(vals),
                         std=statistics.stdev(vals) if len(vals) > 1 else None,
                         paper=ROWS[row][3],
                         train_s=[r['train_s'] for r in records if r['row'] == row]))
    note = (f"Fashion-MNIST canvases: bootstrapping rows and 'same subset' train on "
            f"{t['num_train']} training images for {s['epochs']} epochs (lr {s['lr']}, batch "
            f"{s['batch_size']}); the long from-scratch row on all {full_n} for {teacher_epochs} "
            f"epochs; all tested on {t['num_val']} test images. Std: sample standard "
            f"deviation over seeds. Wall time {time.time() - start:.0f}s, {args.jobs} runs at "
            f"a time on 1 thread each.")
    table = make_table(rows, summary, note)
    with open(osp.join(args.work_dir, 'compare.md'), 'w') as f:
        f.write(table)
    with open(osp.join(args.work_dir, 'compare.json'), 'w') as f:
        json.dump(dict(rows=rows, teacher_top1=summary['teacher_top1']), f, indent=1)
    print('\n' + table, flush=True)
    return rows


def main(argv: Optional[List[str]] = None) -> List[dict]:
    import warnings
    args = parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        if args.worker:
            return [run_one(json.loads(args.worker))]
        return run(args)


if __name__ == '__main__':
    main()
