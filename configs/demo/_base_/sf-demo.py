# The demo's SparseFormer as an mmpretrain classifier (the layout a bootstrap checkpoint loads
# into: backbone.* and head.fc.*).
_base_ = ['./archs.py']
model = dict(
    type='ImageClassifier',
    backbone={{_base_.sf_backbone}},
    neck=None,
    head=dict(
        type='LinearClsHead',
        num_classes={{_base_.num_classes}},
        in_channels=128,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )))
