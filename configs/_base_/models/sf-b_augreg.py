# SparseFormer-B bootstrapped from ViT-B/16 AugReg: 48 latent tokens + [CLS] ("49 tokens"),
# cortex = ViT-B blocks 4..11, final norm and the 1000-way classifier inherited from the teacher.
# SF-L leaves override backbone.arch ('l-augreg': cortex = ViT-L blocks 8..23) and
# head.in_channels (1024).
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='sfmm.SparseFormer',
        arch='b-augreg',
        num_latent_tokens=48,
        out_keys=('embed', ),
        cls_only_last_block=True),
    neck=None,
    head=dict(
        type='LinearClsHead',
        in_channels=768,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))
