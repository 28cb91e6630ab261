# SF-L AugReg (ViT-L/16-384 teacher), 144 tokens (143 latent + [CLS]), ImageNet-1K val at
# 384x384 (as sf-l_augreg-384_in1k.py); 1 GPU x 64 images per batch (evaluation only).
# CHECKPOINT: the continued bootstrap of configs/bootstrap/sf-l_augreg-384_144tok.py
# (work_dirs/sf-l_augreg-384_144tok/epoch_5.pth).
# Reproduces paper Table 2, "SF-L_AugReg, 144 tokens (continued)" under ViT-L/16-384_AugReg:
# top-1 86.5, 213M params, 33.9 GFLOPs.
_base_ = './sf-l_augreg-384_in1k.py'

# model
model = dict(backbone=dict(num_latent_tokens=143))
