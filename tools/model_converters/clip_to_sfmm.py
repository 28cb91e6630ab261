"""Convert an OpenAI CLIP / open_clip checkpoint into an sfmm checkpoint of its visual tower.

The CLIP teachers' zero-shot and retrieval configs (``configs/classification/clip-vit-*``,
``configs/retrieval/clip-vit-*``) run the CLIP visual tower as ``sfmm.TeacherBackbone``;
``tools/test.py`` loads their weights from the file this script writes: the tower read
strictly by ``sfmm.OpenCLIPTeacher`` and saved under ``backbone.teacher.visual.*``.

Example:
    python tools/model_converters/clip_to_sfmm.py ViT-B-16 \
        checkpoints/clip/ViT-B-16_openai.bin checkpoints/clip/clip-vit-b16_sfmm.pth
"""
import argparse
from typing import List, Optional

import torch

PREFIX = 'backbone.teacher.'


def convert(model_name: str, src: str, dst: str, model_cfg: Optional[dict] = None) -> int:
    """Read ``src`` into an ``OpenCLIPTeacher`` (strictly) and save its keys under ``PREFIX``.

    Args:
        model_name (str): open_clip model name (``'ViT-B-16'``, ``'ViT-L-14'``,
            ``'ViT-L-14-336'``).
        src (str): OpenAI TorchScript ``.pt`` or open_clip state dict.
        dst (str): Output path.
        model_cfg (dict, optional): open_clip model config instead of ``model_name``'s.
            Defaults to None.

    Returns:
        int: The number of tensors written.
    """
    from sfmm.models.teachers import OpenCLIPTeacher
    teacher = OpenCLIPTeacher(model_name=model_name, model_cfg=model_cfg,
                              init_cfg=dict(type='sfmm.Pretrained', checkpoint=src))
    teacher.init_weights()
    state = {PREFIX + k: v.detach().clone() for k, v in teacher.state_dict().items()}
    torch.save(dict(state_dict=state, meta=dict(source=src, model_name=model_name)), dst)
    return len(state)


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('model_name', help="open_clip model name, e.g. 'ViT-B-16'")
    parser.add_argument('src', help='CLIP weights (OpenAI .pt or open_clip .bin/.safetensors)')
    parser.add_argument('dst', help='output .pth')
    args = parser.parse_args(argv)
    n = convert(args.model_name, args.src, args.dst)
    print(f'wrote {n} tensors to {args.dst}')


if __name__ == '__main__':
    main()
