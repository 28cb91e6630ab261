"""Train a model from an sfmm config with an mmengine runner.

Examples:
    python tools/train.py configs/bootstrap/sf-l_augreg.py
    python tools/train.py CONFIG --work-dir work_dirs/x --amp --resume
    python tools/train.py CONFIG --resume work_dirs/x/epoch_3.pth \
        --cfg-options train_dataloader.batch_size=32
    bash tools/dist_train.sh CONFIG 8            # torchrun, --launcher pytorch
"""
import argparse
import os
import os.path as osp
from typing import List, Optional

from mmengine.config import Config, DictAction
from mmengine.logging import print_log


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model with sfmm')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and checkpoints '
                        '(default: work_dirs/<config stem>)')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from the given checkpoint; with no value, from the latest '
        'checkpoint in the work dir')
    parser.add_argument('--amp', action='store_true',
                        help='enable automatic mixed precision training')
    parser.add_argument('--no-validate', action='store_true',
                        help='do not validate during training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by the actual total batch size')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config keys, e.g. train_dataloader.batch_size=32 '
        '(applied last)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    args = parser.parse_args(argv)
    # torchrun passes the rank through the environment (LOCAL_RANK), not argv.
    return args


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Merge CLI arguments into ``cfg``; ``--cfg-options`` is applied last."""
    cfg.launcher = args.launcher

    # work_dir: CLI > config > work_dirs/<config stem>
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        optim_wrapper = cfg.get('optim_wrapper', None)
        if optim_wrapper is None:
            raise ValueError(f'--amp needs an optim_wrapper in {args.config}')
        wrapper_type = optim_wrapper.get('type', 'OptimWrapper')
        if wrapper_type == 'AmpOptimWrapper':
            print_log('AMP training is already enabled in the config.', logger='current')
        elif wrapper_type in ('OptimWrapper', 'mmengine.OptimWrapper'):
            optim_wrapper.type = 'AmpOptimWrapper'
            optim_wrapper.setdefault('loss_scale', 'dynamic')
        else:
            raise ValueError(
                f'--amp only converts an OptimWrapper, but {args.config} uses '
                f'optim_wrapper.type={wrapper_type!r}; set AMP in the config instead')

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            raise FileNotFoundError(f'--resume checkpoint not found: {args.resume}')
        cfg.resume = True
        cfg.load_from = args.resume

    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None

    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise ValueError(
                f'--auto-scale-lr needs auto_scale_lr.base_batch_size in {args.config}')
        cfg.auto_scale_lr.enable = True

    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def main(argv: Optional[List[str]] = None):
    args = parse_args(argv)
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file not found: {args.config}')

    from sfmm.utils.dist import close_distributed
    from sfmm.utils.runner import build_runner

    cfg = merge_args(Config.fromfile(args.config), args)
    os.makedirs(cfg.work_dir, exist_ok=True)
    runner = build_runner(cfg)
    runner.train()
    close_distributed()
    return runner


if __name__ == '__main__':
    main()
