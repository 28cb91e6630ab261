# SF-L AugReg, 100 tokens (99 latent + [CLS]), ImageNet-1K val at 320x320 (resize 355, centre
# crop 320, as sf-l_augreg_80tok-320px_in1k.py); 1 GPU x 64 images per batch (evaluation only).
# CHECKPOINT: the continued bootstrap of configs/bootstrap/sf-l_augreg_100tok-320px.py
# (work_dirs/sf-l_augreg_100tok-320px/epoch_5.pth).
# paper: Table 4, "SF-L_AugReg, 100 tokens (continued), 320px (continued)": top-1
# 85.7, 23.4 GFLOPs.
# measured: 212.43M params, 23.02 GFLOPs; 23.39 with attention products counted
#   (tools/analysis_tools/get_flops.py configs/classification/sf-l_augreg_100tok-320px_in1k.py
#   --shape 320 320 [--attention count])
_base_ = './sf-l_augreg_80tok-320px_in1k.py'

# model
model = dict(backbone=dict(num_latent_tokens=99))
