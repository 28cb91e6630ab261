# OpenAI CLIP ViT-L/14-336 itself (the teacher of SF-L CLIP 336), zero-shot ImageNet-1K val at
# 336x336 with its frozen text tower, ImageNet class names and the 80 OpenAI prompt templates;
# 1 GPU x 64 images per batch (evaluation only). CHECKPOINT: the visual tower converted by
# tools/model_converters/clip_to_sfmm.py.
# paper: Table 6, "CLIP ViT-L/14-336": zero-shot top-1 76.6, 191.0 visual GFLOPs.
# measured: 304.29M params, 174.74 visual GFLOPs; 191.11 with attention products counted
#   (tools/analysis_tools/get_flops.py configs/classification/clip-vit-l14-336_in1k-zeroshot.py
#   --shape 336 336 [--attention count])
_base_ = [
    '../_base_/models/clip-vit-b16.py',
    '../_base_/datasets/imagenet_clip.py',
    '../_base_/schedules/test_only.py',
    '../_base_/default_runtime.py',
]

# model
model = dict(
    backbone=dict(teacher=dict(
        model_name='ViT-L-14-336',
        init_cfg=dict(checkpoint='checkpoints/clip/ViT-L-14-336_openai.bin'))),
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
