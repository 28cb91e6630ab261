# SF-L AugReg bootstrapped from ViT-L/16-384 AugReg, 49 tokens (48 latent + [CLS]), ImageNet-1K
# val at 384x384 (resize the shorter side to 384, bicubic, centre crop 384: timm's eval
# transform of the 384px AugReg ViT, crop_pct 1.0); 1 GPU x 64 images per batch (evaluation
# only). CHECKPOINT: configs/bootstrap/sf-l_augreg-384.py (work_dirs/sf-l_augreg-384/epoch_20.pth).
# paper: Table 2, "SF-L_AugReg, 49 tokens" under ViT-L/16-384_AugReg: top-1 84.9,
# 213M params, 11.6 GFLOPs.
# measured: 212.43M params, 11.50 GFLOPs; 11.59 with attention products counted
#   (tools/analysis_tools/get_flops.py configs/classification/sf-l_augreg-384_in1k.py
#   --shape 384 384 [--attention count])
_base_ = './sf-l_augreg_in1k.py'

# data: the val pipeline of configs/bootstrap/sf-l_augreg-384.py
test_pipeline = [
    dict(type='sfmm.LoadImageFromFileSafe', fail_on_error=True),
    dict(type='sfmm.LimitAspectRatio'),
    dict(type='ResizeEdge', scale=384, edge='short', backend='pillow', interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=384),
    dict(type='PackInputs'),
]
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
val_dataloader = test_dataloader
