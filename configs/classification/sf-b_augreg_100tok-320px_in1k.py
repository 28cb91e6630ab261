# SF-B AugReg, 100 tokens (99 latent + [CLS]), ImageNet-1K val at 320x320 (resize 355, centre
# crop 320, as sf-b_augreg_80tok-320px_in1k.py); 1 GPU x 64 images per batch (evaluation only).
# CHECKPOINT: the continued bootstrap of configs/bootstrap/sf-b_augreg_100tok-320px.py
# (work_dirs/sf-b_augreg_100tok-320px/epoch_5.pth).
# paper: Table 4, "SF-B_AugReg, 100 tokens (continued), 320px (continued)": top-1
# 84.0, 7.8 GFLOPs.
# measured: 64.19M params, 7.67 GFLOPs; 7.82 with attention products counted
#   (tools/analysis_tools/get_flops.py configs/classification/sf-b_augreg_100tok-320px_in1k.py
#   --shape 320 320 [--attention count])
_base_ = './sf-b_augreg_80tok-320px_in1k.py'

# model
model = dict(backbone=dict(num_latent_tokens=99))
