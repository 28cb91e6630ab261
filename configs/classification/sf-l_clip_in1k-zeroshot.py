# SF-L CLIP (from OpenAI CLIP ViT-L/14, configs/bootstrap/sf-l_clip.py), 64 tokens (63 latent
# + [CLS]), zero-shot ImageNet-1K val at 224x224 with CLIP's frozen text tower, ImageNet
# class names and the 80 OpenAI prompt templates; 1 GPU x 64 images per batch (evaluation only).
# paper: Table 6, "SF-L_CLIP w/ 64 tokens": zero-shot top-1 73.6, 14.8 visual GFLOPs.
# measured: 212.19M params, 14.69 visual GFLOPs; 14.84 with attention products counted
#   (tools/analysis_tools/get_flops.py configs/classification/sf-l_clip_in1k-zeroshot.py
#   [--attention count])
_base_ = [
    '../_base_/models/sf-b_clip.py',
    '../_base_/datasets/imagenet_clip.py',
    '../_base_/schedules/test_only.py',
    '../_base_/default_runtime.py',
]

# model: SF-L CLIP (63 latent tokens, as released) with CLIP ViT-L/14's text tower
model = dict(
    backbone=dict(arch='l-clip', num_latent_tokens=63),
    head=dict(classnames='imagenet', templates='openai_imagenet',
              text_encoder=dict(model_name='ViT-L-14',
                                init_cfg=dict(checkpoint='checkpoints/clip/ViT-L-14_openai.bin'))))
