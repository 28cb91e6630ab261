# ImageNet-1K for bootstrapping: the *train images* (labels are not read: a CustomDataset with
# with_label=False scans data/imagenet/train/**), with the paper's minimal augmentation
# (random resized crop, scale (0.5, 1.0), ratio (3/4, 4/3); horizontal flip 0.5), and the
# labelled ImageNet val split for top-1 through the inherited classifier (AugReg teachers).
# Normalisation: AugReg's mean = std = 0.5 (x 255), the same as
# configs/_base_/datasets/imagenet_augreg.py; CLIP leaves use imagenet_bootstrap_clip.py.
data_root = 'data/imagenet'

data_preprocessor = dict(
    num_classes=1000,
    mean=[127.5, 127.5, 127.5],
    std=[127.5, 127.5, 127.5],
    to_rgb=True)

train_pipeline = [
    dict(type='sfmm.LoadImageFromFileSafe'),
    dict(type='sfmm.LimitAspectRatio'),
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.5, 1.0),
         aspect_ratio_range=(3. / 4., 4. / 3.), backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]

# the same evaluation transform as the AugReg classification configs
test_pipeline = [
    dict(type='sfmm.LoadImageFromFileSafe', fail_on_error=True),
    dict(type='sfmm.LimitAspectRatio'),
    dict(type='ResizeEdge', scale=248, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=128,
    num_workers=10,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='CustomDataset', data_root=data_root, data_prefix='train',
                 with_label=False, pipeline=train_pipeline))

val_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='ImageNet', data_root=data_root, split='val', pipeline=test_pipeline))
val_evaluator = dict(type='Accuracy', topk=(1, 5))

test_dataloader = val_dataloader
test_evaluator = val_evaluator
