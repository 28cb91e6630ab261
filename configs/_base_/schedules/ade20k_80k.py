# 80k-iteration ADE20K schedule of the SparseFormer segmenters (paper sec. 4.1: "the batch size
# is increased to 4 and the total training iteration is reduced to 80K"; 8 GPUs x 4 images).
# Optimiser and learning-rate policy follow ViT-Adapter's AugReg UPerNet recipe (Chen et al.,
# ICLR 2023, czczup/ViT-Adapter segmentation/configs/ade20k/upernet_augreg_adapter_*_512_160k_
# ade20k.py), which the paper follows "including learning rate and drop path settings":
#   AdamW, lr 2e-5, betas (0.9, 0.999), weight decay 0.05      (ViT-Adapter-L AugReg)
#   layer-wise lr decay 0.95 over the backbone's depth           (ViT-Adapter-L AugReg)
#   poly decay, power 1.0, down to 0, after a linear warm-up of 1500 iterations from
#   lr x 1e-6                                                    (all ViT-Adapter recipes)
# The layer depth comes from SparseFormer.get_layer_depth: the focusing part is depth 0, cortex
# block k is depth k+1, the decode head is the last depth (lr x 1). The drop-path rate (0.3 for
# B, 0.4 for L, as ViT-Adapter) is set in the leaf configs.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-5, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='sfmm.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.95, norm_decay_mult=0., bias_decay_mult=0.,
                       flat_decay_mult=0.),
    clip_grad=None)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=1500, end=80000),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=80000, val_interval=8000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='sfmm.LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=8000, max_keep_ckpts=2,
                    save_best='mIoU', backend_args=dict(backend='sfmm_atomic_local')),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
# lr above is for 8 GPUs x 4 images; `--auto-scale-lr` rescales it linearly
auto_scale_lr = dict(enable=False, base_batch_size=32)
