# The paper's bootstrapping schedule (sec. 4.1, appendix A.2): 20 epochs, lr 2e-4, one linear
# warm-up epoch then half-cosine decay to 0; inherited tunable cortex blocks at 0.1x lr (and
# frozen during the warm-up epoch by sfmm.WarmupFreezeHook, added by the leaf configs).
# Not stated in the paper, chosen by sfmm (configs/bootstrap/README.md): AdamW betas
# (0.9, 0.999), weight decay 0.05 (none on norms, biases, embeddings and learned RoIs),
# warm-up start factor 1e-3, no gradient clipping, total batch 1024 (8 GPUs x 128).
optim_wrapper = dict(
    constructor='sfmm.BootstrapOptimWrapperConstructor',
    optimizer=dict(type='AdamW', lr=2e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(
        inherited_lr_mult=0.1,
        norm_decay_mult=0.,
        bias_decay_mult=0.,
        custom_keys={
            '.cls_token': dict(decay_mult=0.),
            '.init_embed': dict(decay_mult=0.),
            '.init_rois': dict(decay_mult=0.),
            '.stage_embed': dict(decay_mult=0.),
            '.offset_bias': dict(decay_mult=0.),
        }))

param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=19, eta_min=0., by_epoch=True, begin=1, end=20,
         convert_to_iter_based=True),
]

train_cfg = dict(by_epoch=True, max_epochs=20, val_interval=5)
val_cfg = dict()
test_cfg = dict()

# WarmupFreezeHook toggles requires_grad after DDP wrapping: DDP must tolerate unused params.
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)

# lr 2e-4 is for a total batch of 1024; `tools/train.py --auto-scale-lr` rescales it.
auto_scale_lr = dict(base_batch_size=1024, enable=False)
