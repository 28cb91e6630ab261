# Bootstrap SF-L CLIP (144 tokens = 143 latent + [CLS]) from the OpenAI CLIP ViT-L/14-336
# visual tower on ImageNet-1K train images (no labels, no captions), 336x336 (student and
# teacher see the same crop), 20 epochs; 8 GPUs x 128 (total 1024).
# paper: Table 6, "CLIP + SF, SF-L_CLIP w/ 144 tokens" (from ViT-L/14-336):
# ImageNet zero-shot top-1 75.9 (CLIP ViT-L/14-336 76.6), 33.9 visual GFLOPs.
_base_ = './sf-l_clip.py'

# model
model = dict(
    backbone=dict(num_latent_tokens=143),
    teacher=dict(model_name='ViT-L-14-336',
                 init_cfg=dict(checkpoint='checkpoints/clip/ViT-L-14-336_openai.bin')))

# data: 336px crops
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='sfmm.LoadImageFromFileSafe'),
    dict(type='sfmm.LimitAspectRatio'),
    dict(type='RandomResizedCrop', scale=336, crop_ratio_range=(0.5, 1.0),
         aspect_ratio_range=(3. / 4., 4. / 3.), backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]))
