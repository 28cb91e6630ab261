"""sfmm's demo: bootstrap a SparseFormer from a ViT on procedural data, on a CPU.

    python tools/demo.py            # about 10 minutes on 2 CPU cores
    python tools/demo.py --fresh    # redo every stage (otherwise finished stages are reused)

Stages, each with the real mmpretrain / mmengine machinery (CustomDataset with ImageNet-style
ann files, LoadImageFromFile, PackInputs, Runner, the Accuracy metric):

1. data      write the procedural scenes (sfmm/datasets/procedural_scenes.py) to
             ``data/demo_in`` (ImageNet layout) and ``data/demo_ade`` (ADE20K layout), once;
2. teacher   train a small ViT with labels (configs/demo/vit-demo_demo-in.py), the stand-in
             for a pre-trained foundation model;
3. student   bootstrap a SparseFormer with 1/4 of the teacher's tokens from it, *without
             labels* (configs/demo/sf-demo_vit-demo.py: inherited cortex and classifier,
             1 - cosine alignment of the final [CLS] embeddings);
4. evaluate  top-1 of both on the val split (the student through the inherited classifier,
             configs/demo/sf-demo_demo-in.py), FLOPs of both with fvcore (sfmm.utils.flops);
5. figure    the student's token RoIs and sampling points on validation images
             (``<work-dir>/student_rois.png``);

and writes ``<work-dir>/summary.json`` with ``teacher_top1``, ``student_top1``,
``teacher_gflops``, ``student_gflops``, ``teacher_tokens``, ``student_tokens`` (and more).
A stage is skipped when its output exists and was made with the same settings.
"""
import argparse
import copy
import json
import os
import os.path as osp
import shutil
import sys
import time
from typing import Dict, List, Optional

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG_DIR = osp.join(REPO_ROOT, 'configs', 'demo')
TEACHER_CFG = osp.join(CONFIG_DIR, 'vit-demo_demo-in.py')
BOOTSTRAP_CFG = osp.join(CONFIG_DIR, 'sf-demo_vit-demo.py')
STUDENT_CFG = osp.join(CONFIG_DIR, 'sf-demo_demo-in.py')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Bootstrap a SparseFormer from a ViT on procedural data (CPU demo)')
    parser.add_argument('--work-dir', default='work_dirs/demo', help='outputs go here')
    parser.add_argument('--data-root', default='data', help='demo_in/ and demo_ade/ go here')
    parser.add_argument('--num-train', type=int, default=3000, help='training images')
    parser.add_argument('--num-val', type=int, default=800, help='validation images')
    parser.add_argument('--num-seg', type=int, nargs=2, default=[400, 100],
                        metavar=('TRAIN', 'VAL'), help='ADE20K-style scenes to write')
    parser.add_argument('--teacher-epochs', type=int, default=8)
    parser.add_argument('--teacher-lr', type=float, default=1e-3)
    parser.add_argument('--student-epochs', type=int, default=10)
    parser.add_argument('--student-lr', type=float, default=1e-3)
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--num-vis', type=int, default=6, help='validation images to draw')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--log-interval', type=int, default=10, help='iterations per log line')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads for every stage; default: all cores for the '
                        'ViT teacher and evaluation, 1 for SparseFormer training (its many '
                        'small ops slow down across threads, badly so on a busy machine)')
    parser.add_argument('--fresh', action='store_true',
                        help='rewrite the data and retrain everything')
    return parser.parse_args(argv)


# ----------------------------------------------------------------------------- helpers
def _banner(msg: str, start: float) -> None:
    print(f'\n[demo {time.time() - start:6.0f}s] {msg}', flush=True)


def _load_stages(path: str) -> Dict[str, dict]:
    if osp.isfile(path):
        with open(path) as f:
            return json.load(f)
    return {}


def _stage_done(stages: Dict[str, dict], name: str, settings: dict, output: str) -> bool:
    return stages.get(name) == settings and osp.isfile(output)


def _mark(stages: Dict[str, dict], path: str, name: str, settings: dict) -> None:
    stages[name] = settings
    with open(path, 'w') as f:
        json.dump(stages, f, indent=1)


def set_data(cfg, data_root: str, batch_size: int) -> None:
    """Point every dataloader of a demo config at ``<data_root>/demo_in``."""
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(key) is not None:
            cfg[key]['dataset']['data_root'] = osp.join(data_root, 'demo_in')
    if cfg.get('train_dataloader') is not None:
        cfg.train_dataloader.batch_size = batch_size


def set_schedule(cfg, epochs: int, lr: float, log_interval: int) -> None:
    """Train ``epochs`` epochs: 1 linear warm-up epoch (if epochs > 1), then cosine to 1e-5."""
    cfg.optim_wrapper.optimizer.lr = lr
    warmup = 1 if epochs > 1 else 0
    scheds = []
    if warmup:
        scheds.append(dict(type='LinearLR', start_factor=1e-2, by_epoch=True, begin=0,
                           end=warmup, convert_to_iter_based=True))
    scheds.append(dict(type='CosineAnnealingLR', T_max=epochs - warmup, eta_min=1e-5,
                       by_epoch=True, begin=warmup, end=epochs, convert_to_iter_based=True))
    cfg.param_scheduler = scheds
    cfg.train_cfg = dict(by_epoch=True, max_epochs=epochs, val_interval=epochs + 1)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=log_interval)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=epochs,
                                        max_keep_ckpts=1)
    hooks = []
    for hook in cfg.get('custom_hooks', []):
        if hook['type'] == 'sfmm.WarmupFreezeHook' and epochs < 2:
            continue  # a 1-epoch run has no epoch after the warm-up
        hooks.append(hook)
    cfg.custom_hooks = hooks


def _progress_hook(every: int):
    """A hook printing one line per ``every`` iterations and one per epoch (the runner's
    own INFO logging is turned off: it dumps the whole config)."""
    from mmengine.hooks import Hook

    class _Progress(Hook):
        priority = 'BELOW_NORMAL'

        def before_train(self, runner) -> None:
            self.t0 = time.time()

        def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                             outputs=None) -> None:
            n = len(runner.train_dataloader)
            if (batch_idx + 1) % every and batch_idx + 1 != n:
                return
            losses = '  '.join(f'{k} {float(v):.4f}' for k, v in (outputs or {}).items())
            lr = runner.optim_wrapper.get_lr()
            lr = max(v[0] for v in lr.values()) if isinstance(lr, dict) else lr
            print(f'  epoch {runner.epoch + 1}/{runner.max_epochs}  iter {batch_idx + 1}/{n}'
                  f'  {losses}  lr {lr:.2e}  ({time.time() - self.t0:.0f}s)', flush=True)

    return _Progress()


def train(cfg, out_file: str, log_interval: int = 10, threads: Optional[int] = None):
    """Train ``cfg`` with an mmengine Runner and save its final weights to ``out_file``.

    Args:
        cfg (Config): The training config.
        out_file (str): Where the final state dict goes (``{'state_dict': ...}``).
        log_interval (int): Iterations per progress line. Defaults to 10.
        threads (int, optional): torch CPU threads while training (restored afterwards).
            Defaults to None (unchanged).

    Returns:
        The trained model.
    """
    import torch
    from mmengine.runner import Runner

    cfg.log_level = 'ERROR'
    runner = Runner.from_cfg(cfg)
    runner.register_hook(_progress_hook(log_interval))
    old_threads = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        runner.train()
    finally:
        torch.set_num_threads(old_threads)
    state = {k: v.detach().cpu() for k, v in runner.model.state_dict().items()}
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    torch.save(dict(state_dict=state, meta=dict(config=osp.basename(cfg.filename))),
               out_file + '.tmp')
    os.replace(out_file + '.tmp', out_file)
    return runner.model


def evaluate(cfg, checkpoint: str) -> Dict[str, float]:
    """Load ``checkpoint`` strictly into ``cfg``'s model and run the test loop (Accuracy)."""
    from mmengine.runner import Runner

    from sfmm.weights import load_model_checkpoint

    cfg = copy.deepcopy(cfg)
    cfg.load_from = None
    cfg.log_level = 'ERROR'
    runner = Runner.from_cfg(cfg)
    load_model_checkpoint(runner.model, checkpoint)
    return dict(runner.test())


def count_flops(cfg, img_size: int) -> Dict[str, float]:
    """fvcore FLOPs (one multiply-add = one FLOP) and parameters for one image."""
    from sfmm.utils.flops import image_flops_params
    from sfmm.utils.model_builder import build_model_from_cfg

    model = build_model_from_cfg(cfg)
    flops, params, _ = image_flops_params(model, shape=(img_size, img_size))
    return dict(gflops=flops / 1e9, params_m=params / 1e6)


def draw_figure(cfg, checkpoint: str, images: List[str], labels: List[int],
                classes: List[str], out_file: str) -> str:
    """One PNG: for each image, the input, token RoIs after focusing steps 1, 3 and the
    last, and the final sampling points (a row per image)."""
    import numpy as np
    from PIL import Image

    from sfmm.apis import inference_model, init_model
    from sfmm.visualization import draw_rois_and_points

    model = init_model(cfg, checkpoint)
    rows = []
    tmp = out_file + '.rows'
    os.makedirs(tmp, exist_ok=True)
    for i, (res, label) in enumerate(zip(inference_model(model, images), labels)):
        title = f'true: {classes[label]}, student: {classes[res["pred_label"]]}'
        path = draw_rois_and_points(res['input_image'], res['rois'].numpy(),
                                    res['points'].numpy(), osp.join(tmp, f'{i}.png'),
                                    title=title)
        rows.append(np.asarray(Image.open(path).convert('RGB')))
    shutil.rmtree(tmp)
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=255)
            for r in rows]
    Image.fromarray(np.concatenate(rows, axis=0)).save(out_file)
    return out_file


# ----------------------------------------------------------------------------- main
def run(args: argparse.Namespace) -> dict:
    """Run (or resume) every stage and return the summary."""
    start = time.time()
    from mmengine.config import Config

    from sfmm.datasets import ProceduralScenes
    from sfmm.weights import register_mmengine_safe_globals
    register_mmengine_safe_globals()
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)

    work_dir = args.work_dir
    if args.fresh and osp.isdir(work_dir):
        shutil.rmtree(work_dir)
    os.makedirs(work_dir, exist_ok=True)
    stages_file = osp.join(work_dir, 'stages.json')
    stages = _load_stages(stages_file)
    teacher_cfg = Config.fromfile(TEACHER_CFG)
    classes = list(teacher_cfg.classes)
    img_size = int(teacher_cfg.img_size)

    # 1. data
    _banner(f'1/5 data: {args.num_train} train / {args.num_val} val scenes of '
            f'{len(classes)} classes -> {args.data_root}/demo_in, demo_ade', start)
    gen = ProceduralScenes(classes=classes, img_size=img_size, seed=args.seed)
    wrote = gen.write_imagenet(osp.join(args.data_root, 'demo_in'), args.num_train,
                               args.num_val, force=args.fresh)
    wrote_seg = gen.write_ade20k(osp.join(args.data_root, 'demo_ade'), *args.num_seg,
                                 force=args.fresh)
    print(('written' if wrote or wrote_seg else 'already present, reused') + f' '
          f'({time.time() - start:.0f}s)', flush=True)
    data_settings = dict(num_train=args.num_train, num_val=args.num_val, seed=args.seed,
                         data_root=osp.abspath(args.data_root))

    # 2. teacher
    teacher_ckpt = osp.join(work_dir, 'teacher.pth')
    t_settings = dict(data_settings, epochs=args.teacher_epochs, lr=args.teacher_lr,
                      batch_size=args.batch_size)
    _banner(f'2/5 teacher: train the ViT with labels ({args.teacher_epochs} epochs) -> '
            f'{teacher_ckpt}', start)
    set_data(teacher_cfg, args.data_root, args.batch_size)
    teacher_cfg.work_dir = osp.join(work_dir, 'teacher')
    teacher_cfg.randomness = dict(seed=args.seed, deterministic=False)
    if _stage_done(stages, 'teacher', t_settings, teacher_ckpt):
        print('finished earlier with the same settings, reused', flush=True)
    else:
        train_cfg = copy.deepcopy(teacher_cfg)
        set_schedule(train_cfg, args.teacher_epochs, args.teacher_lr, args.log_interval)
        train(train_cfg, teacher_ckpt, args.log_interval, args.threads)
        _mark(stages, stages_file, 'teacher', t_settings)

    # 3. student
    student_ckpt = osp.join(work_dir, 'student.pth')
    s_settings = dict(t_settings=t_settings, epochs=args.student_epochs, lr=args.student_lr)
    _banner(f'3/5 student: bootstrap the SparseFormer from the teacher, no labels '
            f'({args.student_epochs} epochs) -> {student_ckpt}', start)
    if _stage_done(stages, 'student', s_settings, student_ckpt):
        print('finished earlier with the same settings, reused', flush=True)
    else:
        boot_cfg = Config.fromfile(BOOTSTRAP_CFG)
        set_data(boot_cfg, args.data_root, args.batch_size)
        boot_cfg.model.teacher.init_cfg.checkpoint = teacher_ckpt
        boot_cfg.work_dir = osp.join(work_dir, 'student')
        boot_cfg.randomness = dict(seed=args.seed, deterministic=False)
        set_schedule(boot_cfg, args.student_epochs, args.student_lr, args.log_interval)
        model = train(boot_cfg, student_ckpt, args.log_interval, args.threads or 1)
        if getattr(model, 'inherit_report', None) is not None:
            print(model.inherit_report.summary(), flush=True)
        _mark(stages, stages_file, 'student', s_settings)

    # 4. evaluate
    _banner('4/5 evaluate: top-1 on the val split (mmpretrain Accuracy), FLOPs (fvcore)',
            start)
    student_cfg = Config.fromfile(STUDENT_CFG)
    set_data(student_cfg, args.data_root, args.batch_size)
    student_cfg.work_dir = osp.join(work_dir, 'student_eval')
    teacher_cfg.work_dir = osp.join(work_dir, 'teacher_eval')
    t_metrics = evaluate(teacher_cfg, teacher_ckpt)
    print(f"teacher top-1 {t_metrics['accuracy/top1']:.2f}", flush=True)
    s_metrics = evaluate(student_cfg, student_ckpt)
    print(f"student top-1 {s_metrics['accuracy/top1']:.2f}", flush=True)
    t_flops = count_flops(teacher_cfg, img_size)
    s_flops = count_flops(student_cfg, img_size)
    print(f"GFLOPs: teacher {t_flops['gflops']:.4f}, student {s_flops['gflops']:.4f}",
          flush=True)
    patch = int(teacher_cfg.model.backbone.patch_size)
    teacher_tokens = (img_size // patch)**2 + 1
    student_tokens = int(student_cfg.model.backbone.num_latent_tokens) + 1

    # 5. figure
    figure = osp.join(work_dir, 'student_rois.png')
    _banner(f'5/5 figure: student token RoIs and sampling points -> {figure}', start)
    val_root = osp.join(args.data_root, 'demo_in')
    with open(osp.join(val_root, 'meta', 'val.txt')) as f:
        lines = [line.split() for line in f.read().splitlines()][:args.num_vis]
    draw_figure(student_cfg, student_ckpt, [osp.join(val_root, 'val', p) for p, _ in lines],
                [int(lab) for _, lab in lines], classes, figure)

    summary = dict(
        teacher_top1=round(float(t_metrics['accuracy/top1']), 2),
        student_top1=round(float(s_metrics['accuracy/top1']), 2),
        teacher_gflops=round(t_flops['gflops'], 5),
        student_gflops=round(s_flops['gflops'], 5),
        teacher_tokens=teacher_tokens,
        student_tokens=student_tokens,
        teacher_params_m=round(t_flops['params_m'], 3),
        student_params_m=round(s_flops['params_m'], 3),
        top1_ratio=round(float(s_metrics['accuracy/top1']) /
                         max(float(t_metrics['accuracy/top1']), 1e-6), 4),
        flops_ratio=round(s_flops['gflops'] / t_flops['gflops'], 4),
        tokens_ratio=round(student_tokens / teacher_tokens, 4),
        figure=figure,
        wall_time_s=round(time.time() - start, 1),
        settings=s_settings)
    with open(osp.join(work_dir, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=1)
    print('\n' + '=' * 72)
    print(f"teacher  ViT          top-1 {summary['teacher_top1']:6.2f}%  "
          f"{summary['teacher_gflops']:.4f} GFLOPs  {teacher_tokens} tokens")
    print(f"student  SparseFormer top-1 {summary['student_top1']:6.2f}%  "
          f"{summary['student_gflops']:.4f} GFLOPs  {student_tokens} tokens "
          f"(bootstrapped without labels)")
    print(f"student / teacher: top-1 x{summary['top1_ratio']:.3f}, "
          f"FLOPs x{summary['flops_ratio']:.3f}, tokens x{summary['tokens_ratio']:.3f}")
    print(f"summary: {osp.join(work_dir, 'summary.json')}; figure: {figure}; "
          f"total {summary['wall_time_s']:.0f}s")
    print('=' * 72, flush=True)
    return summary


def main(argv: Optional[List[str]] = None) -> dict:
    import warnings
    args = parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return run(args)


if __name__ == '__main__':
    sys.exit(0 if main() else 1)
