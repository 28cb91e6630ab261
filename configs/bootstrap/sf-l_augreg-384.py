# Bootstrap SF-L (49 tokens) from ViT-L/16-384 AugReg on ImageNet-1K train images (no labels),
# 384x384 (student and teacher see the same 384px crop), 20 epochs; 8 GPUs x 128 (total 1024).
# paper: Table 2, "SF-L_AugReg, 49 tokens" under ViT-L/16-384: top-1 84.9
# (teacher 86.9), 213M params, 11.6 GFLOPs (the early convolution grows with the input).
# Teacher: the original AugReg ViT-L/16-384 release, timm's
# `vit_large_patch16_384.augreg_in21k_ft_in1k` (as in the paper; timm has no augreg2 ViT-L).
# Evaluate at 384px (resize 384, centre crop 384) with tools/test.py
#   configs/classification/sf-l_augreg-384_in1k.py work_dirs/sf-l_augreg-384/epoch_20.pth
_base_ = './sf-l_augreg.py'

# model
model = dict(
    teacher=dict(
        model_name='vit_large_patch16_384.augreg_in21k_ft_in1k',
        init_cfg=dict(
            checkpoint='checkpoints/timm/vit_large_patch16_384.augreg_in21k_ft_in1k.safetensors')))

# data: 384px crops; timm's eval transform of the 384px AugReg ViT (crop_pct 1.0)
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='sfmm.LoadImageFromFileSafe'),
    dict(type='sfmm.LimitAspectRatio'),
    dict(type='RandomResizedCrop', scale=384, crop_ratio_range=(0.5, 1.0),
         aspect_ratio_range=(3. / 4., 4. / 3.), backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]))
val_dataloader = dict(dataset=dict(pipeline=[
    dict(type='sfmm.LoadImageFromFileSafe', fail_on_error=True),
    dict(type='sfmm.LimitAspectRatio'),
    dict(type='ResizeEdge', scale=384, edge='short', backend='pillow', interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=384),
    dict(type='PackInputs'),
]))
test_dataloader = val_dataloader
