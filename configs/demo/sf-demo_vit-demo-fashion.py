# Bootstrap the demo SparseFormer (16 tokens) from the pre-trained demo ViT (65 tokens, shipped
# in configs/demo/weights/) on a small subset of the Fashion-MNIST training canvases, *without
# labels* (tools/demo.py lists the subset in meta/train_images.txt); evaluated on the official test
# split through the inherited, frozen classifier (sf-demo_fashion-canvas.py). 1 CPU process x
# 64 images per batch, AdamW lr 1e-3, inherited tunable blocks at 0.1x lr and frozen in the
# warm-up epoch, as in the paper. The demo's requirement: student top-1 >= 95% of the
# teacher's at <= 1/3 of its FLOPs (tools/demo.py, configs/demo/README.md).
_base_ = [
    './_base_/bootstrap_sf-demo.py',
    './_base_/fashion_canvas.py',
    './_base_/schedule_demo.py',
    '../_base_/default_runtime.py',
]
model = dict(
    teacher=dict(
        num_classes=10,
        init_cfg=dict(checkpoint='configs/demo/weights/vit-demo_fashion-canvas.safetensors')),
    head=dict(num_classes=10))

# data: the training canvases listed, without labels, in meta/train_images.txt
train_dataloader = dict(
    dataset=dict(type='CustomDataset', ann_file='meta/train_images.txt', data_prefix='train',
                 with_label=False, _delete_=True, data_root='data/fashion_canvas',
                 pipeline={{_base_.train_pipeline}}))

# schedule (tools/demo.py sets the epochs)
optim_wrapper = dict(
    constructor='sfmm.BootstrapOptimWrapperConstructor',
    paramwise_cfg=dict(inherited_lr_mult=0.1))
custom_hooks = _base_.runtime_hooks + [dict(type='sfmm.WarmupFreezeHook', unfreeze_at=1)]
# DDP: the warm-up hook toggles requires_grad of wrapped parameters (see WarmupFreezeHook)
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
default_hooks = dict(
    logger=dict(type='sfmm.LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=1))
