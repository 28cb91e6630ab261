# Ablation, paper Table 8 "SF-B_AugReg, w/o truncation": no truncated block, the cortex is all
# 12 ViT-B blocks (first 4 tunable); 20 epochs, 8 GPUs x 128.
# paper: top-1 82.7, 5.2 GFLOPs.
_base_ = '../sf-b_augreg.py'

# model
model = dict(
    backbone=dict(arch=dict(_delete_=True, focus_dims=384, embed_dims=768, num_layers=12,
                            num_heads=12, mlp_ratio=4, act='gelu')),
    inherit=dict(truncate=0),
    num_tunable=4)
