# SF-L AugReg (ViT-L/16-384 teacher), 196 tokens (195 latent + [CLS]), ImageNet-1K val at
# 384x384 (as sf-l_augreg-384_in1k.py); 1 GPU x 64 images per batch (evaluation only).
# CHECKPOINT: the continued bootstrap of configs/bootstrap/sf-l_augreg-384_196tok.py
# (work_dirs/sf-l_augreg-384_196tok/epoch_5.pth).
# paper: Table 2 (and Table 4), "SF-L_AugReg, 196 tokens (continued)" under
# ViT-L/16-384_AugReg: top-1 86.7, 213M params, 46.5 GFLOPs.
# measured: 212.43M params, 45.03 GFLOPs; 46.44 with attention products counted
#   (tools/analysis_tools/get_flops.py configs/classification/sf-l_augreg-384_196tok_in1k.py
#   --shape 384 384 [--attention count])
_base_ = './sf-l_augreg-384_in1k.py'

# model
model = dict(backbone=dict(num_latent_tokens=195))
