# Short CPU schedule for the demo: AdamW, a linear warm-up epoch, then cosine decay. The leaf
# configs set their own epochs (train_cfg and the cosine's T_max/end).
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0., flat_decay_mult=0.))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=7, eta_min=1e-5, by_epoch=True, begin=1, end=8,
         convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=8, val_interval=8)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=64, enable=False)
