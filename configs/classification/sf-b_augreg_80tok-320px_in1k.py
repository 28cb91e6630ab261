# SF-B AugReg, 80 tokens (79 latent + [CLS]), ImageNet-1K val at 320x320 (resize the shorter
# side to 355, bicubic, centre crop 320: the 0.9 crop ratio of the 224 eval); 1 GPU x 64 images
# per batch (evaluation only). CHECKPOINT: the continued bootstrap of
# configs/bootstrap/sf-b_augreg_80tok-320px.py (work_dirs/sf-b_augreg_80tok-320px/epoch_5.pth).
# paper: Table 2 (and Table 4), "SF-B_AugReg, 80 tokens (continued), 320px
# (continued)": top-1 83.7, 64M params, 6.3 GFLOPs.
# measured: 64.19M params, 6.18 GFLOPs; 6.28 with attention products counted
#   (tools/analysis_tools/get_flops.py configs/classification/sf-b_augreg_80tok-320px_in1k.py
#   --shape 320 320 [--attention count])
_base_ = './sf-b_augreg_in1k.py'

# model
model = dict(backbone=dict(num_latent_tokens=79))

# data: the val pipeline of configs/bootstrap/sf-b_augreg_80tok-320px.py
test_pipeline = [
    dict(type='sfmm.LoadImageFromFileSafe', fail_on_error=True),
    dict(type='sfmm.LimitAspectRatio'),
    dict(type='ResizeEdge', scale=355, edge='short', backend='pillow', interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=320),
    dict(type='PackInputs'),
]
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
val_dataloader = test_dataloader
