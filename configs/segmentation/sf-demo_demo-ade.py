# Demo segmentation on CPU: the demo's bootstrapped SparseFormer student (tools/demo.py ->
# work_dirs/demo/student.pth: 15 latent tokens + [CLS], bootstrapped without labels from the
# pre-trained demo ViT on Fashion-MNIST canvases) fine-tuned with the RoI logit-projection head
# on the procedural ADE20K-layout scenes (data/demo_ade, written by tools/demo.py: 64x64
# images, 8 shape classes, background ignored).
# As in the paper, the token count grows for segmentation: 15 -> 63 latent tokens (64 with
# [CLS]); the 15 learned initial RoIs are kept and 48 grid RoIs added.
# 1 CPU process x 16 images per batch, 1000 iterations (about 5 minutes on a 2-core CPU with
# OMP_NUM_THREADS=1).
# measured: mIoU 57.55 from the default demo student, 60.05 from scratch, by `make demo-seg`
# (scratch: --cfg-options model.backbone.init_cfg=None); configs/segmentation/README.md, "Demo".
_base_ = [
    '../_base_/models/sf-b_augreg_seg.py',
    '../_base_/schedules/ade20k_80k.py',
    '../_base_/seg_runtime.py',
]

# model: the demo student's backbone (configs/demo/_base_/archs.py, `sf_backbone`) with 63
# latent tokens, and a 64-wide head
crop_size = (64, 64)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        arch=dict(_delete_=True, focus_dims=64, embed_dims=128, num_layers=4, num_heads=2,
                  mlp_ratio=4, act='gelu', proj_dims=None),
        num_latent_tokens=63,
        conv_channels=16,
        mixing_hidden_dims=64,
        ln_eps=1e-6,
        # the student's embedding head (final norm) is not built in a segmenter: dropped
        init_cfg=dict(type='sfmm.Pretrained', checkpoint='work_dirs/demo/student.pth',
                      prefix='backbone.', extend_tokens=True, drop_keys=('norm', 'proj'))),
    decode_head=dict(
        in_channels=(16, 4, 128), channels=64, num_heads=1, num_classes=8,
        # most demo pixels are background (ignored): average the loss over labelled pixels
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0,
                         avg_non_ignore=True)),
    test_cfg=dict(mode='whole'))

# data: procedural scenes in the ADE20K layout; label 0 (background) is ignored
classes = ('circle', 'ring', 'square', 'triangle', 'star', 'cross', 'bar', 'ell')
palette = [[230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48],
           [145, 30, 180], [70, 240, 240], [240, 50, 230]]
data_root = 'data/demo_ade'
train_pipeline = [
    dict(type='sfmm.LoadImageFromFileSafe'),
    dict(type='sfmm.LimitAspectRatio'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(64, 64), ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='sfmm.LoadImageFromFileSafe', fail_on_error=True),
    dict(type='sfmm.LimitAspectRatio'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
dataset = dict(
    type='BaseSegDataset',
    data_root=data_root,
    metainfo=dict(classes=classes, palette=palette),
    img_suffix='.jpg',
    seg_map_suffix='.png',
    reduce_zero_label=True)
train_dataloader = dict(
    batch_size=16,
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        **dataset,
        data_prefix=dict(img_path='images/training', seg_map_path='annotations/training'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=20,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        **dataset,
        data_prefix=dict(img_path='images/validation', seg_map_path='annotations/validation'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

# schedule: the ADE20K recipe's shape (AdamW, layer-wise decay, linear warm-up then poly) at a
# demo scale: lr 1e-3 (the demo's bootstrap lr), decay 0.9, 100 warm-up iterations
optim_wrapper = dict(optimizer=dict(lr=1e-3), paramwise_cfg=dict(layer_decay_rate=0.9))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=False, begin=0, end=100),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=100, end=1000),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=1000, val_interval=1000)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=1000, max_keep_ckpts=1, save_best=None))
auto_scale_lr = dict(enable=False, base_batch_size=16)
