# Bootstrapping the demo SparseFormer from the demo ViT (no labels): cortex = teacher blocks
# 2..5 (truncate 2 = the leading third), the first 2 tunable, the last 2, the final norm and
# the classifier frozen; loss = 1 - cos(student [CLS], teacher [CLS]).
_base_ = ['./archs.py']
model = dict(
    type='sfmm.Bootstrapper',
    backbone={{_base_.sf_backbone}},
    teacher=dict(
        type='sfmm.MMPretrainViTTeacher',
        init_cfg=dict(type='sfmm.Pretrained', checkpoint='work_dirs/demo/teacher.pth'),
        arch={{_base_.vit_arch}},
        img_size={{_base_.img_size}},
        patch_size=8,
        num_classes={{_base_.num_classes}}),
    head=dict(
        type='LinearClsHead',
        num_classes={{_base_.num_classes}},
        in_channels=128,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )),
    inherit=dict(truncate=2, reuse_blocks=True),
    num_tunable=2,
    align_loss=dict(type='sfmm.CosineAlignLoss'))
