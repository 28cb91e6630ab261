"""Evaluate a checkpoint with an sfmm config (classification top-1, zero-shot, mIoU ...).

Examples:
    python tools/test.py configs/classification/sf-b_augreg_in1k.py ckpt.pth
    python tools/test.py configs/segmentation/sf-b_augreg_ade20k-512x512.py ckpt.pth \
        --show-dir work_dirs/vis --out work_dirs/preds
    python tools/test.py configs/demo/sf-demo_fashion-canvas.py work_dirs/demo/student.pth --amp
    bash tools/dist_test.sh CONFIG CKPT 8
"""
import argparse
import os.path as osp
from typing import List, Optional

from mmengine.config import Config, ConfigDict, DictAction


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (evaluate) a model with sfmm')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs and metrics '
                        '(default: work_dirs/<config stem>)')
    parser.add_argument('--out', help='dump predictions: a .pkl file (classification) '
                        'or a directory of prediction maps (segmentation)')
    parser.add_argument('--show-dir', help='save visualised predictions in this dir')
    parser.add_argument('--tta', action='store_true', help='test time augmentation '
                        '(needs tta_model / tta_pipeline in the config)')
    parser.add_argument('--amp', action='store_true',
                        help='test under autocast (mmengine TestLoop fp16: bfloat16 on CPU, '
                        'float16 on CUDA)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys (applied last)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    return parser.parse_args(argv)


def _scope(cfg: Config) -> str:
    return cfg.get('default_scope', None) or 'mmengine'


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Merge CLI arguments into ``cfg``; ``--cfg-options`` is applied last."""
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    scope = _scope(cfg)

    if args.show_dir is not None:
        hooks = cfg.setdefault('default_hooks', ConfigDict())
        vis = hooks.get('visualization', None)
        if vis is None:
            raise ValueError(f'--show-dir needs default_hooks.visualization in {args.config}')
        if scope == 'mmseg':
            vis.draw = True
            vis.interval = 1
            cfg.visualizer['save_dir'] = args.show_dir
        else:  # mmpretrain VisualizationHook
            vis.enable = True
            vis.out_dir = args.show_dir

    if args.out is not None:
        if scope == 'mmseg':
            evaluator = cfg.test_evaluator
            evaluator['output_dir'] = args.out
            evaluator['keep_results'] = True
        else:
            dump = dict(type='DumpResults', out_file_path=args.out)
            evaluator = cfg.test_evaluator
            if isinstance(evaluator, (list, tuple)):
                cfg.test_evaluator = [*evaluator, dump]
            else:
                cfg.test_evaluator = [evaluator, dump]

    if args.tta:
        if 'tta_pipeline' not in cfg:
            raise ValueError(f'--tta needs tta_pipeline in {args.config}')
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        if scope == 'mmseg':
            if 'tta_model' not in cfg:
                raise ValueError(f'--tta needs tta_model in {args.config}')
            cfg.tta_model.module = cfg.model
            cfg.model = cfg.tta_model
        else:
            tta_model = cfg.get('tta_model', dict(type='AverageClsScoreTTA'))
            tta_model['module'] = cfg.model
            cfg.model = tta_model

    if args.amp:
        test_cfg = cfg.get('test_cfg', None) or ConfigDict()
        if test_cfg.get('type', 'TestLoop') not in ('TestLoop', 'mmengine.TestLoop'):
            raise ValueError(f'--amp sets TestLoop(fp16=True), but {args.config} uses '
                             f'test_cfg type {test_cfg["type"]!r}')
        test_cfg['fp16'] = True
        cfg.test_cfg = test_cfg

    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def main(argv: Optional[List[str]] = None):
    args = parse_args(argv)
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file not found: {args.config}')
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint file not found: {args.checkpoint}')

    from sfmm.utils.dist import close_distributed
    from sfmm.utils.runner import build_runner

    cfg = merge_args(Config.fromfile(args.config), args)
    metrics = build_runner(cfg).test()
    close_distributed()
    return metrics


if __name__ == '__main__':
    main()
