# The demo's stand-in foundation model: a small mmpretrain ViT classifier ([CLS] after the final
# norm into a single-Linear head: the layout sfmm.MMPretrainViTTeacher reads).
_base_ = ['./archs.py']
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='VisionTransformer',
        arch={{_base_.vit_arch}},
        img_size={{_base_.img_size}},
        patch_size=8,
        out_type='cls_token',
        final_norm=True,
        init_cfg=[
            dict(type='TruncNormal', layer='Linear', std=.02),
            dict(type='Constant', layer='LayerNorm', val=1., bias=0.),
        ]),
    neck=None,
    head=dict(
        type='VisionTransformerClsHead',
        num_classes={{_base_.num_classes}},
        in_channels=128,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        topk=(1, ),
        init_cfg=[dict(type='TruncNormal', layer='Linear', std=.02)]))
