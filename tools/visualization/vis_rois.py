"""Draw each image's token RoIs after the focusing steps and the final sampling points.

    python tools/visualization/vis_rois.py CONFIG CKPT img1.jpg img2.jpg --out work_dirs/rois

Writes one PNG per image (``<image stem>_rois.png``): the network input, RoIs after the
first, third and last focusing step (``--steps`` to choose) and the final sampling points,
as in the paper's Figures 3-7.
"""
import argparse
import os
import os.path as osp
from typing import List, Optional


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Visualise SparseFormer RoIs and points')
    parser.add_argument('config', help='classification or segmentation config')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('images', nargs='+', help='image files')
    parser.add_argument('--out', required=True, help='output directory for PNGs')
    parser.add_argument('--steps', type=int, nargs='+', default=None,
                        help='RoI steps to draw (0 = initial); default first/third/last')
    parser.add_argument('--device', default='cpu')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> List[str]:
    args = parse_args(argv)
    for path in [args.config, args.checkpoint, *args.images]:
        if not osp.isfile(path):
            raise FileNotFoundError(f'file not found: {path}')
    from sfmm.apis import inference_model, init_model
    from sfmm.weights import register_mmengine_safe_globals
    from sfmm.visualization import draw_rois_and_points
    register_mmengine_safe_globals()

    model = init_model(args.config, args.checkpoint, device=args.device)
    os.makedirs(args.out, exist_ok=True)
    written = []
    for image, res in zip(args.images, inference_model(model, args.images)):
        if 'rois' not in res:
            raise ValueError(f'{args.config} has no SparseFormer backbone: no RoIs to draw')
        stem = osp.splitext(osp.basename(image))[0]
        title = stem if 'pred_label' not in res else f'{stem}: class {res["pred_label"]}'
        out = draw_rois_and_points(res['input_image'], res['rois'].numpy(),
                                   res['points'].numpy(), osp.join(args.out, f'{stem}_rois.png'),
                                   steps=args.steps, title=title)
        written.append(out)
        print(out)
    return written


if __name__ == '__main__':
    main()
