# A tiny SparseFormer classifier (mmpretrain ImageClassifier) for API and tool tests.
_base_ = ['./tiny_classifier.py']
custom_imports = dict(imports=['sfmm.models', 'sfmm.engine'], allow_failed_imports=False)

model = dict(
    _delete_=True,
    type='ImageClassifier',
    backbone=dict(type='sfmm.SparseFormer',
                  arch=dict(focus_dims=64, embed_dims=64, num_layers=2, num_heads=1),
                  num_latent_tokens=8, num_points=4, conv_channels=16,
                  cls_only_last_block=True),
    neck=None,
    head=dict(type='LinearClsHead', num_classes=2, in_channels=64,
              loss=dict(type='CrossEntropyLoss')))
pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=36, edge='short'),
    dict(type='CenterCrop', crop_size=32),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=pipeline))
val_dataloader = dict(dataset=dict(pipeline=pipeline))
test_dataloader = val_dataloader
