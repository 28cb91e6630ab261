# OpenAI CLIP ViT-L/14 itself (the teacher of SF-L CLIP), zero-shot ImageNet-1K val at 224x224
# with its frozen text tower, ImageNet class names and the 80 OpenAI prompt templates;
# 1 GPU x 64 images per batch (evaluation only). CHECKPOINT: the visual tower converted by
# tools/model_converters/clip_to_sfmm.py.
# Paper Table 6, "CLIP ViT-L/14-224": zero-shot top-1 75.4, 81.1 visual GFLOPs.
_base_ = [
    '../_base_/models/clip-vit-l14.py',
    '../_base_/datasets/imagenet_clip.py',
    '../_base_/schedules/test_only.py',
    '../_base_/default_runtime.py',
]

# model
model = dict(head=dict(classnames='imagenet', templates='openai_imagenet'))
