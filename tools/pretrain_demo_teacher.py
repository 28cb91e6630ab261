"""Pre-train the demo's stand-in foundation model once, with labels, and ship its weights.

    python tools/pretrain_demo_teacher.py                      # Fashion-MNIST canvases
    python tools/pretrain_demo_teacher.py --dataset procedural # the procedural fallback's

The teacher is the demo ViT (configs/demo/vit-demo_<dataset>.py: 64 patch tokens + [CLS] at
64x64, width 128, 6 blocks), trained with labels on far more images than the demo student
later sees without labels (for Fashion-MNIST: all 60,000 training canvases against the
student's few thousand), then evaluated on the test split. It writes

    <out>.safetensors   the ImageClassifier state dict (backbone.*, head.*), float32
    <out>.json          sha256 and size of the file, sha256 of its tensors, top-1, the exact
                        command, seed, epochs, threads and wall time, torch version

with ``<out>`` defaulting to ``configs/demo/weights/vit-demo_<dataset>``, where the
committed teachers live (configs/demo/weights/README.md). ``make demo`` starts from them;
``python tools/demo.py --pretrain-teacher`` re-creates one into its work dir first.
Training runs in one process on ``--threads`` torch threads (default 2); the same seed and
threads give the same weights on the same machine (checked: a re-run of the Fashion-MNIST
recipe gave bit-identical tensors). The file's own SHA-256 can still differ between two runs,
because safetensors writes its metadata keys in an arbitrary order, so the record also keeps
``tensors_sha256`` (:func:`tensors_sha256`: names, dtypes, shapes and bytes in key order), and a
run writing elsewhere than the shipped file ends by comparing its top-1 and tensors with the
shipped teacher's record.
"""
import argparse
import copy
import json
import os
import os.path as osp
import shlex
import sys
import time
from typing import List, Optional

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import demo  # noqa: E402  (tools/demo.py: training and evaluation helpers)

WEIGHTS_DIR = osp.join(demo.REPO_ROOT, 'configs', 'demo', 'weights')
#: Per dataset: teacher config, pre-training epochs, training images (None = all), lr.
RECIPES = {
    'fashion': dict(config='vit-demo_fashion-canvas.py', epochs=6, num_train=None, lr=2e-3,
                    name='vit-demo_fashion-canvas'),
    'procedural': dict(config='vit-demo_demo-in.py', epochs=6, num_train=16000, lr=2e-3,
                       name='vit-demo_demo-in'),
}


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Pre-train the demo teacher ViT with labels')
    parser.add_argument('--dataset', choices=sorted(RECIPES), default='fashion')
    parser.add_argument('--epochs', type=int, default=None, help='default: per dataset')
    parser.add_argument('--num-train', type=int, default=None,
                        help='training images (default: per dataset; Fashion-MNIST: all)')
    parser.add_argument('--num-val', type=int, default=None,
                        help='test images (default: Fashion-MNIST all 10000, procedural 800)')
    parser.add_argument('--lr', type=float, default=None)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--threads', type=int, default=2, help='torch CPU threads')
    parser.add_argument('--data-root', default='data')
    parser.add_argument('--work-dir', default='work_dirs/demo_teacher')
    parser.add_argument('--out', default=None,
                        help='output path without suffix (default: configs/demo/weights/'
                        'vit-demo_<dataset>)')
    parser.add_argument('--log-interval', type=int, default=50)
    return parser.parse_args(argv)


def tensors_sha256(state: dict) -> str:
    """SHA-256 of a state dict's contents, independent of how a file serialises it.

    Hashes, key by key in sorted order, the key, dtype, shape and raw bytes of each tensor.
    """
    import hashlib

    import torch

    digest = hashlib.sha256()
    for key in sorted(state):
        tensor = state[key].detach().cpu().contiguous()
        digest.update(f'{key}|{tensor.dtype}|{tuple(tensor.shape)}|'.encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def compare_with_shipped(record: dict, out: str) -> Optional[str]:
    """A line comparing a re-created teacher with the shipped one of the same dataset.

    None when ``out`` is the shipped file itself, or the shipped record is missing.
    """
    shipped = osp.join(WEIGHTS_DIR, RECIPES[record['dataset']]['name'])
    if osp.abspath(out) == osp.abspath(shipped) or not osp.isfile(shipped + '.json'):
        return None
    with open(shipped + '.json') as f:
        ref = json.load(f)
    same = record['tensors_sha256'] == ref.get('tensors_sha256')
    return (f'[teacher] against the shipped {osp.basename(shipped)}.safetensors: top-1 '
            f'{record["top1"]:.2f} vs {ref["top1"]:.2f} ({record["top1"] - ref["top1"]:+.2f}), '
            f'tensors {"identical" if same else "different"} (tensors_sha256 '
            f'{record["tensors_sha256"][:12]}... vs {str(ref.get("tensors_sha256"))[:12]}...)')


def save_teacher(state: dict, out: str, info: dict) -> dict:
    """Write ``out.safetensors`` and its ``out.json`` record; return the record."""
    from safetensors.torch import save_file

    from sfmm.datasets.fashion_mnist import sha256_of
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    path = out + '.safetensors'
    save_file({k: v.contiguous() for k, v in state.items()}, path + '.tmp',
              metadata=dict(format='pt', config=info['config']))
    os.replace(path + '.tmp', path)
    record = dict(info, file=osp.basename(path), sha256=sha256_of(path),
                  bytes=osp.getsize(path), tensors_sha256=tensors_sha256(state))
    with open(out + '.json', 'w') as f:
        json.dump(record, f, indent=1)
        f.write('\n')
    return record


def run(args: argparse.Namespace, command: Optional[str] = None) -> dict:
    """Write the data, train, evaluate and save; return the ``.json`` record."""
    import torch
    from mmengine.config import Config

    from sfmm.weights import register_mmengine_safe_globals
    register_mmengine_safe_globals()
    recipe = RECIPES[args.dataset]
    epochs = args.epochs or recipe['epochs']
    lr = args.lr or recipe['lr']
    num_train = args.num_train or recipe['num_train']
    out = args.out or osp.join(WEIGHTS_DIR, recipe['name'])
    start = time.time()

    cfg = Config.fromfile(osp.join(demo.CONFIG_DIR, recipe['config']))
    data_root = demo.write_data(args.dataset, args.data_root, num_train=num_train,
                                num_val=args.num_val, seed=args.seed, pretrain=True)
    lists = demo.PRETRAIN_LISTS if args.dataset == 'fashion' else ''
    num_train = demo.count_lines(osp.join(data_root, 'meta', f'train{lists}.txt'))
    demo.set_data(cfg, data_root)
    cfg.train_dataloader.dataset.ann_file = f'meta/train{lists}.txt'
    cfg.val_dataloader.dataset.ann_file = f'meta/val{lists}.txt'
    cfg.test_dataloader.dataset.ann_file = f'meta/val{lists}.txt'
    cfg.work_dir = args.work_dir
    cfg.randomness = dict(seed=args.seed, deterministic=False)
    train_cfg = copy.deepcopy(cfg)
    demo.set_schedule(train_cfg, epochs, lr, args.log_interval)
    print(f'[teacher] {recipe["config"]}: {num_train} labelled training images, {epochs} '
          f'epochs, lr {lr}, batch {train_cfg.train_dataloader.batch_size}, '
          f'{args.threads} threads', flush=True)
    ckpt = osp.join(args.work_dir, 'teacher.pth')
    t0 = time.time()
    model = demo.train(train_cfg, ckpt, args.log_interval, args.threads)
    train_s = time.time() - t0
    old = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        top1 = float(demo.evaluate(cfg, ckpt)['accuracy/top1'])
    finally:
        torch.set_num_threads(old)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    info = dict(dataset=args.dataset, config=f'configs/demo/{recipe["config"]}',
                top1=round(top1, 2), test_images=demo.count_lines(
                    osp.join(data_root, 'meta', f'val{lists}.txt')),
                train_images=num_train, epochs=epochs, lr=lr, seed=args.seed,
                threads=args.threads, train_s=round(train_s, 1),
                wall_time_s=round(time.time() - start, 1), torch=torch.__version__,
                command=command or ' '.join(['python tools/pretrain_demo_teacher.py'] + [
                    shlex.quote(a) for a in sys.argv[1:]]))
    record = save_teacher(state, out, info)
    print(f'[teacher] top-1 {top1:.2f} on the test split; wrote {out}.safetensors '
          f'(sha256 {record["sha256"][:12]}...) in {record["wall_time_s"]:.0f}s', flush=True)
    line = compare_with_shipped(record, out)
    if line:
        print(line, flush=True)
    return record


def main(argv: Optional[List[str]] = None) -> dict:
    import warnings
    args = parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return run(args)


if __name__ == '__main__':
    main()
