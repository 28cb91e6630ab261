"""sfmm's demo: bootstrap a SparseFormer from a pre-trained ViT on real images, on a CPU.

    python tools/demo.py                        # about 6 minutes on 2 CPU cores
    python tools/demo.py --fresh                # redo every stage (otherwise reused)
    python tools/demo.py --pretrain-teacher     # also re-create the teacher (about 40 min)
    python tools/demo.py --dataset procedural   # the procedural fallback

Stages, each with the real mmpretrain / mmengine machinery (CustomDataset with ImageNet-style
ann files, LoadImageFromFile, PackInputs, Runner, the Accuracy metric):

1. data      Fashion-MNIST (fetched once from Debian's archive into sfmm's cache,
             sfmm/datasets/fashion_mnist.py) drawn onto cluttered 64x64 canvases
             (sfmm/datasets/fashion_canvases.py): a small subset of the training photos for
             bootstrapping and the official 10,000-image test split, in ``data/fashion_canvas``;
             where Fashion-MNIST cannot be fetched, the demo says why and how to fix it and
             uses the procedural scenes (sfmm/datasets/procedural_scenes.py, ``data/demo_in``);
             the ADE20K-layout procedural scenes for ``make demo-seg`` go to ``data/demo_ade``;
2. teacher   the stand-in foundation model: a small ViT pre-trained with labels on the whole
             training split by tools/pretrain_demo_teacher.py and shipped in
             configs/demo/weights/ (checked by its SHA-256), loaded as a user loads a timm
             checkpoint; ``--pretrain-teacher`` re-creates it first;
3. student   bootstrap a SparseFormer with 1/4 of the teacher's tokens from it on the subset,
             *without labels* (configs/demo/sf-demo_vit-demo-fashion.py: inherited cortex and
             classifier, 1 - cosine alignment of the final [CLS] embeddings);
4. evaluate  top-1 of both on the test split (the student through the inherited classifier),
             FLOPs of both with fvcore (sfmm.utils.flops), and, on the canvases, per focusing
             step the mean best RoI-to-item-box IoU (sfmm.evaluation.roi_box_stats);
5. figure    the student's token RoIs and sampling points on test images
             (``<work-dir>/student_rois.png``);

and writes ``<work-dir>/summary.json`` with ``dataset``, ``teacher_top1``, ``student_top1``,
``teacher_gflops``, ``student_gflops``, ``teacher_tokens``, ``student_tokens``, ``roi_stats``
(and more). A stage is skipped when its output exists and was made with the same settings.
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
WEIGHTS_DIR = osp.join(CONFIG_DIR, 'weights')
#: Per demo dataset: data folder, configs, shipped teacher and the student's default budget.
DATASETS = {
    'fashion': dict(root='fashion_canvas', teacher_cfg='vit-demo_fashion-canvas.py',
                    boot_cfg='sf-demo_vit-demo-fashion.py',
                    student_cfg='sf-demo_fashion-canvas.py',
                    teacher='vit-demo_fashion-canvas', num_train=6000, num_val=None,
                    student_epochs=8),
    'procedural': dict(root='demo_in', teacher_cfg='vit-demo_demo-in.py',
                       boot_cfg='sf-demo_vit-demo.py', student_cfg='sf-demo_demo-in.py',
                       teacher='vit-demo_demo-in', num_train=3000, num_val=800,
                       student_epochs=10),
}
#: Suffix of the canvas lists of a teacher's pre-training (meta/train_all.txt ...).
PRETRAIN_LISTS = '_all'


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Bootstrap a SparseFormer from a pre-trained ViT on real images (CPU demo)')
    parser.add_argument('--dataset', choices=('auto', *DATASETS), default='auto',
                        help='auto: Fashion-MNIST canvases, or the procedural scenes where '
                        'Fashion-MNIST cannot be fetched')
    parser.add_argument('--work-dir', default='work_dirs/demo', help='outputs go here')
    parser.add_argument('--data-root', default='data', help='the demo data goes here')
    parser.add_argument('--num-train', type=int, default=None,
                        help='training images the student sees, without labels (default: '
                        'fashion 6000, procedural 3000)')
    parser.add_argument('--num-val', type=int, default=None,
                        help='test images (default: fashion all 10000, procedural 800)')
    parser.add_argument('--num-seg', type=int, nargs=2, default=[400, 100],
                        metavar=('TRAIN', 'VAL'), help='ADE20K-style scenes to write')
    parser.add_argument('--pretrain-teacher', action='store_true',
                        help='re-create the teacher with tools/pretrain_demo_teacher.py into '
                        'the work dir instead of loading the shipped one')
    parser.add_argument('--teacher-epochs', type=int, default=None,
                        help='with --pretrain-teacher (default: the shipped recipe)')
    parser.add_argument('--teacher-num-train', type=int, default=None,
                        help='with --pretrain-teacher: labelled images (default: the '
                        'shipped recipe)')
    parser.add_argument('--student-epochs', type=int, default=None,
                        help='default: fashion 8, procedural 10')
    parser.add_argument('--student-lr', type=float, default=1e-3)
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--num-vis', type=int, default=6, help='test images to draw')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--log-interval', type=int, default=10, help='iterations per log line')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads for every stage; default: all cores for '
                        'evaluation, 1 for SparseFormer training (reproducible figures; on an '
                        'idle machine 2 threads train 1.6x faster, on a busy one much slower: '
                        'configs/demo/README.md, "Threads")')
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


def set_data(cfg, root: str, batch_size: Optional[int] = None) -> None:
    """Point every dataloader of a demo config at the dataset folder ``root``."""
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(key) is not None:
            cfg[key]['dataset']['data_root'] = root
    if batch_size and cfg.get('train_dataloader') is not None:
        cfg.train_dataloader.batch_size = batch_size


def count_lines(path: str) -> int:
    with open(path) as f:
        return sum(1 for line in f if line.strip())


def resolve_dataset(name: str) -> str:
    """``name``, or for 'auto' 'fashion' when Fashion-MNIST can be fetched, else
    'procedural' (saying why, and what fixes it)."""
    if name != 'auto':
        return name
    from sfmm.datasets.fashion_mnist import fashion_mnist_available
    ok, why = fashion_mnist_available()
    if ok:
        return 'fashion'
    print(f'Fashion-MNIST is not available, so the demo uses the procedural scenes: {why}',
          flush=True)
    return 'procedural'


def write_data(dataset: str, data_root: str, num_train: Optional[int],
               num_val: Optional[int], seed: int = 0, force: bool = False,
               pretrain: bool = False) -> str:
    """Write (or reuse) the classification data of ``dataset``; return its folder.

    Fashion-MNIST canvases go to ``<data_root>/fashion_canvas`` (``num_train`` of the
    60,000 training canvases listed, None = all; ``num_val`` of the 10,000 test canvases,
    None = all) and are listed in ``meta/{train,val}.txt``, or, for a teacher's pre-training
    (``pretrain``), in ``meta/{train,val}_all.txt``, so that the two listings never overwrite
    each other. Procedural scenes go to ``<data_root>/demo_in``, or, for ``pretrain``, to
    ``<data_root>/demo_in_pretrain``: the first scenes of both are the same images.
    """
    spec = DATASETS[dataset]
    if dataset == 'fashion':
        from sfmm.datasets.fashion_canvases import FashionCanvases
        root = osp.join(data_root, spec['root'])
        FashionCanvases(seed=seed).write_imagenet(root, num_train, num_val, force=force,
                                                  list_suffix=PRETRAIN_LISTS if pretrain else '')
        return root
    from mmengine.config import Config

    from sfmm.datasets import ProceduralScenes
    cfg = Config.fromfile(osp.join(CONFIG_DIR, spec['teacher_cfg']))
    root = osp.join(data_root, spec['root'] + ('_pretrain' if pretrain else ''))
    gen = ProceduralScenes(classes=list(cfg.classes), img_size=int(cfg.img_size), seed=seed)
    gen.write_imagenet(root, num_train or spec['num_train'], num_val or spec['num_val'],
                       force=force)
    return root


def shipped_teacher(dataset: str) -> str:
    """The committed teacher of ``dataset``, checked against its ``.json`` record."""
    from sfmm.datasets.fashion_mnist import sha256_of
    base = osp.join(WEIGHTS_DIR, DATASETS[dataset]['teacher'])
    path, record_file = base + '.safetensors', base + '.json'
    if not (osp.isfile(path) and osp.isfile(record_file)):
        raise FileNotFoundError(
            f'{path} (or its record {record_file}) not found: re-create it with `python '
            f'tools/pretrain_demo_teacher.py --dataset {dataset}`, or run the demo with '
            f'--pretrain-teacher')
    with open(record_file) as f:
        record = json.load(f)
    digest = sha256_of(path)
    if digest != record.get('sha256'):
        raise ValueError(f'{path}: sha256 {digest} does not match {record.get("sha256")} in '
                         f'{record_file}; the file is corrupt or was replaced: restore it '
                         f'(git checkout {osp.relpath(path, REPO_ROOT)}) or re-create it '
                         f'with `{record.get("command")}`')
    return path


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


def measure_rois(cfg, checkpoint: str, root: str) -> dict:
    """Per focusing step, over the test canvases listed in ``root``: the mean best
    RoI-to-item-box IoU and share of RoI centres on the box; for the final sampling points,
    the share on the box (and, for reference, the mean box area: a box-blind sampler's
    share). The images come through the config's own test dataloader and data
    preprocessor, in the order of ``meta/val.txt``. See
    :func:`sfmm.evaluation.roi_box_stats.roi_box_stats`."""
    import torch
    from mmengine.runner import Runner

    from sfmm.apis import init_model
    from sfmm.datasets.fashion_canvases import read_boxes
    from sfmm.evaluation.roi_box_stats import roi_box_stats

    model = init_model(cfg, checkpoint)
    loader = Runner.build_dataloader(copy.deepcopy(cfg.test_dataloader))
    boxes = torch.from_numpy(read_boxes(root, 'val'))
    if len(boxes) != len(loader.dataset):
        raise ValueError(f'{root}/meta/val_boxes.txt lists {len(boxes)} boxes for '
                         f'{len(loader.dataset)} images in meta/val.txt')
    totals: Dict[str, object] = {}
    seen = 0
    with torch.no_grad():
        for data in loader:
            x = model.data_preprocessor(data, False)['inputs']
            size = torch.tensor([x.shape[3], x.shape[2], x.shape[3], x.shape[2]]).float()
            outs = model.backbone.forward_dict(x)
            part = roi_box_stats(outs['rois'], outs['points'],
                                 boxes[seen:seen + len(x)] / size)
            seen += len(x)
            for k, v in part.items():
                if isinstance(v, list):
                    totals[k] = [a + b for a, b in zip(totals.get(k, [0.] * len(v)), v)]
                else:
                    totals[k] = totals.get(k, 0) + v
    n = totals.pop('count')
    out = {k: ([round(a / n, 4) for a in v] if isinstance(v, list) else round(v / n, 4))
           for k, v in totals.items()}
    out['num_images'] = n
    return out


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
    dataset = resolve_dataset(args.dataset)
    spec = DATASETS[dataset]
    num_train = args.num_train or spec['num_train']
    num_val = args.num_val or spec['num_val']
    student_epochs = args.student_epochs or spec['student_epochs']
    teacher_cfg = Config.fromfile(osp.join(CONFIG_DIR, spec['teacher_cfg']))
    classes = list(teacher_cfg.classes)
    img_size = int(teacher_cfg.img_size)

    # 1. data
    _banner(f'1/5 data: {dataset}: {num_train} training images (for the student, no labels), '
            f'{num_val or "all"} test images, {len(classes)} classes -> {args.data_root}',
            start)
    root = write_data(dataset, args.data_root, num_train, num_val, args.seed, args.fresh)
    seg = ProceduralScenes(classes=list(ProceduralScenes.ALL_CLASSES), seed=args.seed)
    seg.write_ade20k(osp.join(args.data_root, 'demo_ade'), *args.num_seg, force=args.fresh)
    num_val = count_lines(osp.join(root, 'meta', 'val.txt'))
    print(f'{root}: ready ({time.time() - start:.0f}s)', flush=True)
    data_settings = dict(dataset=dataset, num_train=num_train, num_val=num_val,
                         seed=args.seed, data_root=osp.abspath(args.data_root))

    # 2. teacher
    from sfmm.datasets.fashion_mnist import sha256_of
    if args.pretrain_teacher:
        import pretrain_demo_teacher as pretrain
        teacher_ckpt = osp.join(work_dir, 'teacher.safetensors')
        t_settings = dict(data_settings, pretrain=True, epochs=args.teacher_epochs,
                          num_train=args.teacher_num_train)
        _banner(f'2/5 teacher: pre-train the ViT with labels (tools/pretrain_demo_teacher.py) '
                f'-> {teacher_ckpt}', start)
        if _stage_done(stages, 'teacher', t_settings, teacher_ckpt):
            print('finished earlier with the same settings, reused', flush=True)
        else:
            argv = ['--dataset', dataset, '--seed', str(args.seed), '--data-root',
                    args.data_root, '--work-dir', osp.join(work_dir, 'teacher'),
                    '--out', osp.join(work_dir, 'teacher'), '--log-interval',
                    str(args.log_interval), '--threads', str(args.threads or os.cpu_count() or 1)]
            argv += ['--epochs', str(args.teacher_epochs)] if args.teacher_epochs else []
            argv += ['--num-train', str(args.teacher_num_train)] if args.teacher_num_train else []
            argv += ['--num-val', str(num_val)]  # the demo's test split
            pretrain.run(pretrain.parse_args(argv),
                         command=' '.join(['python tools/pretrain_demo_teacher.py'] + argv))
            _mark(stages, stages_file, 'teacher', t_settings)
    else:
        teacher_ckpt = shipped_teacher(dataset)
        _banner(f'2/5 teacher: the pre-trained ViT {osp.relpath(teacher_ckpt, REPO_ROOT)} '
                f'(sha256 checked)', start)
        t_settings = dict(data_settings, teacher=osp.basename(teacher_ckpt))
    t_settings['sha256'] = sha256_of(teacher_ckpt)
    set_data(teacher_cfg, root, args.batch_size)
    teacher_cfg.work_dir = osp.join(work_dir, 'teacher_eval')

    # 3. student
    student_ckpt = osp.join(work_dir, 'student.pth')
    s_settings = dict(t_settings=t_settings, epochs=student_epochs, lr=args.student_lr,
                      batch_size=args.batch_size)
    _banner(f'3/5 student: bootstrap the SparseFormer from the teacher on {num_train} images, '
            f'no labels ({student_epochs} epochs) -> {student_ckpt}', start)
    if _stage_done(stages, 'student', s_settings, student_ckpt):
        print('finished earlier with the same settings, reused', flush=True)
    else:
        boot_cfg = Config.fromfile(osp.join(CONFIG_DIR, spec['boot_cfg']))
        set_data(boot_cfg, root, args.batch_size)
        boot_cfg.model.teacher.init_cfg.checkpoint = teacher_ckpt
        boot_cfg.work_dir = osp.join(work_dir, 'student')
        boot_cfg.randomness = dict(seed=args.seed, deterministic=False)
        set_schedule(boot_cfg, student_epochs, args.student_lr, args.log_interval)
        model = train(boot_cfg, student_ckpt, args.log_interval, args.threads or 1)
        if getattr(model, 'inherit_report', None) is not None:
            print(model.inherit_report.summary(), flush=True)
        _mark(stages, stages_file, 'student', s_settings)

    # 4. evaluate
    _banner(f'4/5 evaluate: top-1 on the {num_val} test images (mmpretrain Accuracy), FLOPs '
            f'(fvcore)' + (', RoIs vs item boxes' if dataset == 'fashion' else ''), start)
    student_cfg = Config.fromfile(osp.join(CONFIG_DIR, spec['student_cfg']))
    set_data(student_cfg, root, args.batch_size)
    student_cfg.work_dir = osp.join(work_dir, 'student_eval')
    t_metrics = evaluate(teacher_cfg, teacher_ckpt)
    print(f"teacher top-1 {t_metrics['accuracy/top1']:.2f}", flush=True)
    s_metrics = evaluate(student_cfg, student_ckpt)
    print(f"student top-1 {s_metrics['accuracy/top1']:.2f}", flush=True)
    t_flops = count_flops(teacher_cfg, img_size)
    s_flops = count_flops(student_cfg, img_size)
    print(f"GFLOPs: teacher {t_flops['gflops']:.4f}, student {s_flops['gflops']:.4f}",
          flush=True)
    roi_stats = None
    if dataset == 'fashion':
        roi_stats = measure_rois(student_cfg, student_ckpt, root)
        print('best RoI-to-box IoU per step (0 = initial grid): ' +
              ', '.join(f'{v:.3f}' for v in roi_stats['best_iou']) +
              f"; final sampling points on the box: {roi_stats['points_in_box']:.3f} "
              f"(box area {roi_stats['box_area']:.3f})", flush=True)
    patch = int(teacher_cfg.model.backbone.patch_size)
    teacher_tokens = (img_size // patch)**2 + 1
    student_tokens = int(student_cfg.model.backbone.num_latent_tokens) + 1

    # 5. figure
    figure = osp.join(work_dir, 'student_rois.png')
    _banner(f'5/5 figure: student token RoIs and sampling points -> {figure}', start)
    with open(osp.join(root, 'meta', 'val.txt')) as f:
        lines = [line.split() for line in f.read().splitlines()][:args.num_vis]
    draw_figure(student_cfg, student_ckpt, [osp.join(root, 'val', p) for p, _ in lines],
                [int(lab) for _, lab in lines], classes, figure)

    summary = dict(
        dataset=dataset,
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
        roi_stats=roi_stats,
        teacher_checkpoint=teacher_ckpt,
        figure=figure,
        wall_time_s=round(time.time() - start, 1),
        settings=s_settings)
    with open(osp.join(work_dir, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=1)
    print('\n' + '=' * 72)
    print(f"data: {dataset}; student trained on {num_train} images without labels, both "
          f"tested on {num_val}")
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
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))  # tools/pretrain_demo_teacher.py
    args = parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return run(args)


if __name__ == '__main__':
    sys.exit(0 if main() else 1)
