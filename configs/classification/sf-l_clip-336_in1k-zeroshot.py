# SF-L CLIP (from OpenAI CLIP ViT-L/14-336), 144 tokens (143 latent + [CLS]), zero-shot
# ImageNet-1K val at 336x336 with CLIP ViT-L/14-336's frozen text tower, ImageNet class names
# and the 80 OpenAI prompt templates; 1 GPU x 64 images per batch (evaluation only).
# paper: Table 6, "SF-L_CLIP w/ 144 tokens": zero-shot top-1 75.9, 33.9 visual GFLOPs.
# measured: 212.19M params, 33.08 visual GFLOPs; 33.85 with attention products counted
#   (tools/analysis_tools/get_flops.py configs/classification/sf-l_clip-336_in1k-zeroshot.py
#   --shape 336 336 [--attention count])
_base_ = [
    '../_base_/models/sf-b_clip.py',
    '../_base_/datasets/imagenet_clip.py',
    '../_base_/schedules/test_only.py',
    '../_base_/default_runtime.py',
]

# model: SF-L CLIP with CLIP ViT-L/14-336's text tower
model = dict(
    backbone=dict(arch='l-clip', num_latent_tokens=143),
    head=dict(classnames='imagenet', templates='openai_imagenet',
              text_encoder=dict(
                  model_name='ViT-L-14-336',
                  init_cfg=dict(checkpoint='checkpoints/clip/ViT-L-14-336_openai.bin'))))

# data: CLIP's eval transform at 336px
test_pipeline = [
    dict(type='sfmm.LoadImageFromFileSafe', fail_on_error=True),
    dict(type='sfmm.LimitAspectRatio'),
    dict(type='ResizeEdge', scale=336, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=336),
    dict(type='PackInputs'),
]
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
val_dataloader = test_dataloader
