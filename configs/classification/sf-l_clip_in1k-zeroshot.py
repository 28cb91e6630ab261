# SF-L CLIP (from OpenAI CLIP ViT-L/14, configs/bootstrap/sf-l_clip.py), 64 tokens (63 latent
# + [CLS]), zero-shot ImageNet-1K val at 224x224 with CLIP's frozen text tower, ImageNet
# class names and the 80 OpenAI prompt templates; 1 GPU x 64 images per batch (evaluation only).
# Reproduces paper Table 6, "SF-L_CLIP w/ 64 tokens": zero-shot top-1 73.6, 14.8 visual GFLOPs
# (14.69 G without attention products, SPEC); image model 212.2M params.
_base_ = [
    '../_base_/models/sf-l_clip.py',
    '../_base_/datasets/imagenet_clip.py',
    '../_base_/schedules/test_only.py',
    '../_base_/default_runtime.py',
]

# model
model = dict(head=dict(classnames='imagenet', templates='openai_imagenet'))
