# Bootstrapping SF-B from ViT-B/16-224 AugReg (timm weights, 12 blocks): truncate the leading
# 4 blocks, cortex = teacher blocks 4..11 (first 4 tunable, last 4 frozen), final norm and the
# 1000-way classifier inherited and frozen; 48 latent tokens + [CLS] ("49 tokens").
# Teacher: the original AugReg release (IN-21K pre-trained, IN-1K fine-tuned; paper Tables 2
# and 4: 84.6 top-1), timm's vit_base_patch16_224.augreg_in21k_ft_in1k. timm's later
# re-fine-tuned augreg2 weights are the alternative leaf configs/bootstrap/sf-b_augreg2.py.
# The checkpoint keys (backbone.*, head.fc.*) are those of configs/_base_/models/sf-b_augreg.py.
# SF-L (configs/bootstrap/sf-l_augreg.py) overrides backbone.arch ('l-augreg'), the teacher
# (ViT-L/16 AugReg), head.in_channels (1024), inherit.truncate and num_tunable (8 of 24 blocks).
model = dict(
    type='sfmm.Bootstrapper',
    backbone=dict(type='sfmm.SparseFormer', arch='b-augreg', num_latent_tokens=48,
                  out_keys=('embed', ), cls_only_last_block=True),
    teacher=dict(
        type='sfmm.TimmViTTeacher',
        model_name='vit_base_patch16_224.augreg_in21k_ft_in1k',
        init_cfg=dict(
            type='sfmm.Pretrained',
            checkpoint='checkpoints/timm/vit_base_patch16_224.augreg_in21k_ft_in1k.safetensors')),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=768,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)),
    inherit=dict(truncate=4, reuse_blocks=True),
    num_tunable=4,
    align_loss=dict(type='sfmm.CosineAlignLoss'))
