"""Top-1 of a SparseFormer checkpoint through timm alone: ``create_model`` + its data config.

Examples:
    python tools/analysis_tools/timm_eval.py sparseformer_demo_fashion_16 \
        --checkpoint work_dirs/demo/student.pth \
        --data-root data/fashion_canvas/val --ann-file data/fashion_canvas/meta/val.txt
    python tools/analysis_tools/timm_eval.py sparseformer_b_augreg_49 \
        --checkpoint work_dirs/sf-b_augreg/epoch_20.pth \
        --data-root data/imagenet/val --ann-file data/imagenet/meta/val.txt --batch-size 64

The model comes from ``timm.create_model(MODEL_NAME, pretrained=True,
pretrained_cfg_overlay=dict(file=CHECKPOINT))`` (after ``import sfmm.timm``, which registers
the names and lets timm read mmengine checkpoints), the preprocessing from
``timm.data.create_transform(**resolve_data_config({}, model=model))``: nothing of sfmm's
configs or runners is used, so the figure checks that the timm path reproduces the sfmm one
(``tools/test.py`` on the model's config).

``--ann-file`` is an mmpretrain annotation list (``CustomDataset``'s ``ann_file``): one
``<path> <label>`` per line, the path relative to ``--data-root`` (for the demo data:
``data/fashion_canvas/meta/val.txt`` lists ``<class>/<file>.png <label>`` under
``data/fashion_canvas/val``). Images are read with PIL as RGB.

Prints ``top-1: X (correct/total images)`` on stdout, X in percent (the scale of
mmpretrain's ``accuracy/top1``).
"""
import argparse
import os.path as osp
from typing import List, Optional, Tuple

import torch


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Top-1 of a SparseFormer through timm')
    parser.add_argument('model', help='timm model name, e.g. sparseformer_b_augreg_49')
    parser.add_argument('--checkpoint', required=True,
                        help='sfmm checkpoint (.pth from tools/train.py, plain state dict or '
                        '.safetensors)')
    parser.add_argument('--data-root', required=True,
                        help='folder the paths in --ann-file are relative to')
    parser.add_argument('--ann-file', required=True,
                        help='annotation list: "<path> <label>" per line')
    parser.add_argument('--batch-size', type=int, default=64, help='images per batch')
    parser.add_argument('--num-threads', type=int, default=None,
                        help='torch CPU threads (default: torch\'s own choice)')
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error('--batch-size must be >= 1')
    if args.num_threads is not None and args.num_threads < 1:
        parser.error('--num-threads must be >= 1')
    return args


def read_annotations(ann_file: str, data_root: str) -> List[Tuple[str, int]]:
    """The ``(image path, label)`` pairs of an mmpretrain annotation list.

    Raises:
        FileNotFoundError: If ``ann_file`` does not exist.
        ValueError: Naming the file and line of a malformed entry, or if it lists nothing.
    """
    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'annotation file not found: {ann_file}')
    samples = []
    with open(ann_file) as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            parts = line.rsplit(maxsplit=1)
            if len(parts) != 2 or not parts[1].lstrip('-').isdigit():
                raise ValueError(f'{ann_file}:{lineno}: expected "<path> <label>", got '
                                 f'{line.rstrip()!r}')
            samples.append((osp.join(data_root, parts[0].strip()), int(parts[1])))
    if not samples:
        raise ValueError(f'{ann_file} lists no images')
    return samples


@torch.no_grad()
def evaluate(model_name: str, checkpoint: str, samples: List[Tuple[str, int]],
             batch_size: int = 64) -> Tuple[int, int]:
    """Count the correct top-1 predictions of the timm model on ``samples``.

    Returns:
        tuple[int, int]: ``(correct, total)``.
    """
    import timm
    from PIL import Image
    from timm.data import create_transform, resolve_data_config

    import sfmm.timm  # noqa: F401  (registers the SparseFormers and mmengine's safe globals)

    model = timm.create_model(model_name, pretrained=True,
                              pretrained_cfg_overlay=dict(file=checkpoint)).eval()
    if model.num_classes <= 0:
        raise ValueError(f'{model_name} has no classifier (an embedding model); top-1 needs '
                         f'a classification model')
    transform = create_transform(**resolve_data_config({}, model=model))
    correct = 0
    for start in range(0, len(samples), batch_size):
        chunk = samples[start:start + batch_size]
        images = []
        for path, _ in chunk:
            with Image.open(path) as img:
                images.append(transform(img.convert('RGB')))
        pred = model(torch.stack(images)).argmax(dim=1)
        labels = torch.tensor([label for _, label in chunk])
        correct += int((pred == labels).sum())
    return correct, len(samples)


def main(argv: Optional[List[str]] = None) -> float:
    args = parse_args(argv)
    if args.num_threads is not None:
        torch.set_num_threads(args.num_threads)
    samples = read_annotations(args.ann_file, args.data_root)
    correct, total = evaluate(args.model, args.checkpoint, samples, args.batch_size)
    top1 = 100. * correct / total
    print(f'top-1: {top1:.4f} ({correct}/{total} images)')
    return top1


if __name__ == '__main__':
    main()
