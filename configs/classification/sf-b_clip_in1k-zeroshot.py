# SF-B CLIP (from OpenAI CLIP ViT-B/16), 49 tokens (48 latent + [CLS]), zero-shot ImageNet-1K
# val at 224x224 with CLIP's frozen text tower, ImageNet class names and the 80 OpenAI prompt
# templates; 1 GPU x 64 images per batch (evaluation only).
# paper: Table 6, "SF-B_CLIP w/ 49 tokens": zero-shot top-1 66.0, 3.8 visual GFLOPs.
# measured: 63.81M params, 3.75 visual GFLOPs; 3.79 with attention products counted
#   (tools/analysis_tools/get_flops.py configs/classification/sf-b_clip_in1k-zeroshot.py
#   [--attention count])
_base_ = [
    '../_base_/models/sf-b_clip.py',
    '../_base_/datasets/imagenet_clip.py',
    '../_base_/schedules/test_only.py',
    '../_base_/default_runtime.py',
]

# model
model = dict(head=dict(classnames='imagenet', templates='openai_imagenet'))
