# ViT-B/16 (AugReg, timm weights converted to mmpretrain names): the baseline and teacher of
# SF-B AugReg. LayerNorm eps 1e-6 (mmpretrain's default, as timm's ViTs), [CLS] output after
# the final norm, linear classifier. ViT-L/16 leaves override backbone.arch ('l') and
# head.in_channels (1024).
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='VisionTransformer',
        arch='b',
        img_size=224,
        patch_size=16,
        out_type='cls_token',
        final_norm=True,
        drop_rate=0.,
        drop_path_rate=0.),
    neck=None,
    head=dict(
        type='VisionTransformerClsHead',
        in_channels=768,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))
