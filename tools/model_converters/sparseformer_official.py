"""Convert a released showlab/sparseformer ("v2 converted") checkpoint into an sfmm checkpoint.

The output holds an mmpretrain ``ImageClassifier`` state dict: ``backbone.*`` for the
``sfmm.SparseFormer`` backbone and, for AugReg models, the 1000-way classifier as
``head.fc.*`` (a ``LinearClsHead``). CLIP models keep their projection in the backbone
(``backbone.proj.weight``). A v1 SparseFormer (``sparseformer_v1_*_converted.pth``) gives
``backbone.*`` keys of ``sfmm.SparseFormerV1`` and its classifier as ``head.fc.*``. Every key
is mapped explicitly; unknown or missing keys abort.

Examples:
    python tools/model_converters/sparseformer_official.py \
        checkpoints/sparseformer_btsp_augreg_base_converted.pth \
        checkpoints/sf-b_augreg_in1k_official.pth
    python tools/model_converters/sparseformer_official.py \
        checkpoints/sparseformer_v1_tiny_converted.pth checkpoints/sf-v1-t_in1k_official.pth
"""
import argparse
import os
import os.path as osp
from typing import List, Optional

import torch


def convert(src: str, dst: str) -> int:
    """Read ``src``, convert its keys and save ``dict(state_dict=..., meta=...)`` to ``dst``.

    Args:
        src (str): Released checkpoint (a state dict, possibly wrapped under ``model``).
        dst (str): Output path; parent folders are created.

    Returns:
        int: The number of tensors written.

    Raises:
        KeyError: If the checkpoint has unknown or missing keys (all are listed).
    """
    from sfmm.models.utils import convert_sparseformer_official
    from sfmm.weights import read_checkpoint
    state = read_checkpoint(src)
    converted = convert_sparseformer_official(state)
    if osp.dirname(dst):
        os.makedirs(osp.dirname(dst), exist_ok=True)
    torch.save(dict(state_dict=converted, meta=dict(source=osp.basename(src),
                                                    converter='sparseformer_official')), dst)
    return len(converted)


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='released SparseFormer checkpoint (.pth)')
    parser.add_argument('dst', help='output sfmm checkpoint (.pth)')
    args = parser.parse_args(argv)
    n = convert(args.src, args.dst)
    print(f'wrote {n} tensors to {args.dst}')


if __name__ == '__main__':
    main()
