# SparseFormer v1 (from scratch, no teacher): the 'tiny' preset, 49 latent tokens, with its
# 1000-way classifier as a LinearClsHead on the LayerNorm of the token mean. The S / B leaves
# override backbone.arch and head.in_channels.
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='sfmm.SparseFormerV1',
        arch='tiny',
        out_keys=('embed', )),
    neck=None,
    head=dict(
        type='LinearClsHead',
        in_channels=512,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))
