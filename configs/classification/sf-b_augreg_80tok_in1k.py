# SF-B AugReg, 80 tokens (79 latent + [CLS]), ImageNet-1K val at 224x224; 1 GPU x 64 images
# per batch (evaluation only). CHECKPOINT: the continued bootstrap of
# configs/bootstrap/sf-b_augreg_80tok.py (work_dirs/sf-b_augreg_80tok/epoch_5.pth).
# Reproduces paper Table 2 (and Table 4), "SF-B_AugReg, 80 tokens (continued)": top-1 83.4,
# 64M params, 6.2 GFLOPs.
_base_ = './sf-b_augreg_in1k.py'

# model
model = dict(backbone=dict(num_latent_tokens=79))
