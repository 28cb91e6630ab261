# OpenAI CLIP ViT-L/14 itself (the teacher of SF-L CLIP), zero-shot ImageNet-1K val at 224x224
# with its frozen text tower, ImageNet class names and the 80 OpenAI prompt templates;
# 1 GPU x 64 images per batch (evaluation only). CHECKPOINT: the visual tower converted by
# tools/model_converters/clip_to_sfmm.py.
# paper: Table 6, "CLIP ViT-L/14-224": zero-shot top-1 75.4, 81.1 visual GFLOPs.
# measured: 303.97M params, 77.83 visual GFLOPs; 81.08 with attention products counted
#   (tools/analysis_tools/get_flops.py configs/classification/clip-vit-l14_in1k-zeroshot.py
#   [--attention count])
_base_ = [
    '../_base_/models/clip-vit-b16.py',
    '../_base_/datasets/imagenet_clip.py',
    '../_base_/schedules/test_only.py',
    '../_base_/default_runtime.py',
]

# model
model = dict(
    backbone=dict(teacher=dict(model_name='ViT-L-14',
                               init_cfg=dict(checkpoint='checkpoints/clip/ViT-L-14_openai.bin'))),
    head=dict(classnames='imagenet', templates='openai_imagenet',
              text_encoder=dict(model_name='ViT-L-14',
                                init_cfg=dict(checkpoint='checkpoints/clip/ViT-L-14_openai.bin'))))
