# OpenAI CLIP ViT-B/16 itself (the teacher of SF-B CLIP), zero-shot ImageNet-1K val at 224x224
# with its frozen text tower, ImageNet class names and the 80 OpenAI prompt templates;
# 1 GPU x 64 images per batch (evaluation only). CHECKPOINT: the visual tower converted by
# tools/model_converters/clip_to_sfmm.py.
# paper: Table 6, "CLIP ViT-B/16-224": zero-shot top-1 68.3, 17.5 visual GFLOPs.
# measured: 86.19M params, 16.87 visual GFLOPs; 17.58 with attention products counted
#   (tools/analysis_tools/get_flops.py configs/classification/clip-vit-b16_in1k-zeroshot.py
#   [--attention count])
_base_ = [
    '../_base_/models/clip-vit-b16.py',
    '../_base_/datasets/imagenet_clip.py',
    '../_base_/schedules/test_only.py',
    '../_base_/default_runtime.py',
]

# model
model = dict(head=dict(classnames='imagenet', templates='openai_imagenet'))
