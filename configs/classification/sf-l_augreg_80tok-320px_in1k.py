# SF-L AugReg, 80 tokens (79 latent + [CLS]), ImageNet-1K val at 320x320 (resize the shorter
# side to 355, bicubic, centre crop 320: the 0.9 crop ratio of the 224 eval); 1 GPU x 64 images
# per batch (evaluation only). CHECKPOINT: the continued bootstrap of
# configs/bootstrap/sf-l_augreg_80tok-320px.py (work_dirs/sf-l_augreg_80tok-320px/epoch_5.pth).
# paper: Table 2 (and Table 4), "SF-L_AugReg, 80 tokens (continued), 320px
# (continued)": top-1 85.5, 213M params, 18.7 GFLOPs.
# measured: 212.43M params, 18.46 GFLOPs; 18.70 with attention products counted
#   (tools/analysis_tools/get_flops.py configs/classification/sf-l_augreg_80tok-320px_in1k.py
#   --shape 320 320 [--attention count])
_base_ = './sf-l_augreg_in1k.py'

# model
model = dict(backbone=dict(num_latent_tokens=79))

# data: the val pipeline of configs/bootstrap/sf-l_augreg_80tok-320px.py
test_pipeline = [
    dict(type='sfmm.LoadImageFromFileSafe', fail_on_error=True),
    dict(type='sfmm.LimitAspectRatio'),
    dict(type='ResizeEdge', scale=355, edge='short', backend='pillow', interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=320),
    dict(type='PackInputs'),
]
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
val_dataloader = test_dataloader
