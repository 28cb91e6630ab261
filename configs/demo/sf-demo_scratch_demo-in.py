# Comparison (tools/demo_compare.py): the demo SparseFormer trained *from scratch with labels*
# for the same budget as bootstrapping (10 epochs, 1 CPU process x 64 images per batch, AdamW
# lr 1e-3, flip only): every parameter trainable, nothing inherited. The paper's Table 3
# "supervised cls from scratch" column, at demo scale.
_base_ = ['./sf-demo_demo-in.py']

# schedule
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=9, eta_min=1e-5, by_epoch=True, begin=1, end=10,
         convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=10, val_interval=10)
default_hooks = dict(
    logger=dict(type='sfmm.LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=1))
