# SF-L AugReg (ViT-L/16-384 teacher), 144 tokens (143 latent + [CLS]), ImageNet-1K val at
# 384x384 (as sf-l_augreg-384_in1k.py); 1 GPU x 64 images per batch (evaluation only).
# CHECKPOINT: the continued bootstrap of configs/bootstrap/sf-l_augreg-384_144tok.py
# (work_dirs/sf-l_augreg-384_144tok/epoch_5.pth).
# paper: Table 2, "SF-L_AugReg, 144 tokens (continued)" under ViT-L/16-384_AugReg:
# top-1 86.5, 213M params, 33.9 GFLOPs.
# measured: 212.43M params, 33.17 GFLOPs; 33.93 with attention products counted
#   (tools/analysis_tools/get_flops.py configs/classification/sf-l_augreg-384_144tok_in1k.py
#   --shape 384 384 [--attention count])
_base_ = './sf-l_augreg-384_in1k.py'

# model
model = dict(backbone=dict(num_latent_tokens=143))
