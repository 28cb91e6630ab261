# OpenAI CLIP ViT-B/32 itself (a smaller CLIP baseline; no SparseFormer is bootstrapped from
# it), zero-shot ImageNet-1K val at 224x224 with its frozen text tower, ImageNet class names
# and the 80 OpenAI prompt templates; 1 GPU x 64 images per batch (evaluation only).
# CHECKPOINT: the visual tower converted by tools/model_converters/clip_to_sfmm.py ViT-B-32.
# paper: Table 6, "CLIP ViT-B/32-224": zero-shot top-1 63.3, 4.4 visual GFLOPs.
# measured: 87.85M params, 4.37 visual GFLOPs; 4.41 with attention products counted
#   (tools/analysis_tools/get_flops.py configs/classification/clip-vit-b32_in1k-zeroshot.py
#   [--attention count])
_base_ = [
    '../_base_/models/clip-vit-b16.py',
    '../_base_/datasets/imagenet_clip.py',
    '../_base_/schedules/test_only.py',
    '../_base_/default_runtime.py',
]

# model
model = dict(
    backbone=dict(teacher=dict(model_name='ViT-B-32',
                               init_cfg=dict(checkpoint='checkpoints/clip/ViT-B-32_openai.bin'))),
    head=dict(classnames='imagenet', templates='openai_imagenet',
              text_encoder=dict(model_name='ViT-B-32',
                                init_cfg=dict(checkpoint='checkpoints/clip/ViT-B-32_openai.bin'))))
