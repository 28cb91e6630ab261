# Bootstrap SF-L (49 tokens) from ViT-L/16-224 AugReg on ImageNet-1K train images (no labels),
# 224x224, 20 epochs; 8 GPUs x 128 images per batch (total 1024).
# paper: Table 2, "SF-L_AugReg, 49 tokens" (from ViT-L/16-224): top-1 84.5
# (teacher 85.8), 213M params, 11.4 GFLOPs; also the SF-L "default" row of Table 8 (84.5).
# Teacher: the original AugReg ViT-L/16 (IN-21K pre-trained, IN-1K fine-tuned), as in the
# paper: timm `vit_large_patch16_224.augreg_in21k_ft_in1k`, read from
# checkpoints/timm/vit_large_patch16_224.augreg_in21k_ft_in1k.safetensors (timm publishes no
# augreg2 ViT-L, so every sf-l_augreg* leaf uses the original release).
# Evaluate with:
#   tools/test.py configs/classification/sf-l_augreg_in1k.py work_dirs/sf-l_augreg/epoch_20.pth
_base_ = [
    '../_base_/models/bootstrap_sf-b_augreg.py',
    '../_base_/datasets/imagenet_bootstrap.py',
    '../_base_/schedules/bootstrap_20e.py',
    '../_base_/default_runtime.py',
]

# model: the SF-B bootstrap base with SF-L's arch and teacher (ViT-L/16 AugReg, 24 blocks):
# truncate the leading 8 blocks, cortex = teacher blocks 8..23 (first 8 tunable, last 8 frozen)
model = dict(
    backbone=dict(arch='l-augreg'),
    teacher=dict(
        model_name='vit_large_patch16_224.augreg_in21k_ft_in1k',
        init_cfg=dict(
            checkpoint='checkpoints/timm/vit_large_patch16_224.augreg_in21k_ft_in1k.safetensors')),
    head=dict(in_channels=1024),
    inherit=dict(truncate=8),
    num_tunable=8)

# schedule: inherited tunable blocks frozen during the warm-up epoch (epoch 0)
custom_hooks = _base_.runtime_hooks + [dict(type='sfmm.WarmupFreezeHook', unfreeze_at=1)]
