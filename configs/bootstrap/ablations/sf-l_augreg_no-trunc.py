# Ablation, paper Table 8 "SF-L_AugReg, w/o truncation": no truncated block, the cortex is all
# 24 ViT-L blocks (first 8 tunable); 20 epochs, 8 GPUs x 128.
# paper: top-1 84.3, 16.4 GFLOPs.
_base_ = '../sf-l_augreg.py'

# model
model = dict(
    backbone=dict(arch=dict(_delete_=True, focus_dims=512, embed_dims=1024, num_layers=24,
                            num_heads=16, mlp_ratio=4, act='gelu')),
    inherit=dict(truncate=0),
    num_tunable=8)
