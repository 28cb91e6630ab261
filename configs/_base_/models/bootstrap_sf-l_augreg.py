# Bootstrapping SF-L from ViT-L/16-224 AugReg (timm weights, 24 blocks): truncate the leading
# 8 blocks, cortex = teacher blocks 8..23 (first 8 tunable, last 8 frozen), final norm and the
# 1000-way classifier inherited and frozen; 48 latent tokens + [CLS] ("49 tokens").
# The checkpoint keys (backbone.*, head.fc.*) are those of configs/_base_/models/sf-l_augreg.py.
model = dict(
    type='sfmm.Bootstrapper',
    backbone=dict(type='sfmm.SparseFormer', arch='l-augreg', num_latent_tokens=48,
                  out_keys=('embed', )),
    teacher=dict(
        type='sfmm.TimmViTTeacher',
        model_name='vit_large_patch16_224.augreg_in21k_ft_in1k',
        checkpoint='checkpoints/timm/vit_large_patch16_224.augreg_in21k_ft_in1k.safetensors'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=1024,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)),
    inherit=dict(truncate=8, reuse_blocks=True),
    num_tunable=8,
    align_loss=dict(type='sfmm.CosineAlignLoss'))
