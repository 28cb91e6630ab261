# SparseFormer-L bootstrapped from ViT-L/16 AugReg: 48 latent tokens + [CLS] ("49 tokens"),
# cortex = ViT-L blocks 8..23, final norm and the 1000-way classifier inherited from the teacher.
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='sfmm.SparseFormer',
        arch='l-augreg',
        num_latent_tokens=48,
        out_keys=('embed', )),
    neck=None,
    head=dict(
        type='LinearClsHead',
        in_channels=1024,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))
