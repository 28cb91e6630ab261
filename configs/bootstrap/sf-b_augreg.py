# Bootstrap SF-B (49 tokens) from ViT-B/16-224 AugReg on ImageNet-1K train images (no labels),
# 224x224, 20 epochs; 8 GPUs x 128 images per batch (total 1024).
# Reproduces paper Table 2, "SF-B_AugReg, 49 tokens": top-1 82.5 (teacher 84.6), 64M params,
# 3.8 GFLOPs; it is also the "default" row of Tables 3 and 8 (82.5).
# Evaluate with:
#   tools/test.py configs/classification/sf-b_augreg_in1k.py work_dirs/sf-b_augreg/epoch_20.pth
_base_ = [
    '../_base_/models/bootstrap_sf-b_augreg.py',
    '../_base_/datasets/imagenet_bootstrap.py',
    '../_base_/schedules/bootstrap_20e.py',
    '../_base_/default_runtime.py',
]

# schedule: inherited tunable blocks frozen during the warm-up epoch (epoch 0)
custom_hooks = [
    dict(type='sfmm.CheckpointCompatHook'),
    dict(type='sfmm.NonFiniteLossHook'),
    dict(type='sfmm.WarmupFreezeHook', unfreeze_at=1),
]
