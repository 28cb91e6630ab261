# ViT-L/16-384 AugReg (IN-21K pre-trained, IN-1K fine-tuned at 384; timm weights
# vit_large_patch16_384.augreg_in21k_ft_in1k converted to mmpretrain names), 576 tokens,
# ImageNet-1K val at 384x384 (resize 384, bicubic, centre crop 384: timm's crop_pct 1.0);
# 1 GPU x 64 images per batch (evaluation only).
# The baseline and teacher of SF-L AugReg 384 (configs/bootstrap/sf-l_augreg-384.py).
# paper: Tables 2 and 4, "ViT-L/16-384_AugReg, 576 tokens": top-1 86.9, 304M params, 191 GFLOPs.
# measured: 304.72M params, 174.85 GFLOPs; 191.21 with attention products counted
#   (tools/analysis_tools/get_flops.py configs/classification/vit-l16-384_augreg_in1k.py
#   --shape 384 384 [--attention count])
_base_ = [
    '../_base_/models/vit-b16_augreg.py',
    '../_base_/datasets/imagenet_augreg.py',
    '../_base_/schedules/test_only.py',
    '../_base_/default_runtime.py',
]

# model: ViT-L/16 at 384 on the ViT-B/16 AugReg base
model = dict(backbone=dict(arch='l', img_size=384), head=dict(in_channels=1024, num_classes=1000))

# data
test_pipeline = [
    dict(type='sfmm.LoadImageFromFileSafe', fail_on_error=True),
    dict(type='sfmm.LimitAspectRatio'),
    dict(type='ResizeEdge', scale=384, edge='short', backend='pillow', interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=384),
    dict(type='PackInputs'),
]
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
val_dataloader = test_dataloader
