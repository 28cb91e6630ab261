# ImageNet-1K val for the v1 SparseFormers: the eval transform of the released training code
# (showlab/sparseformer imagenet/data/build.py, from the Swin codebase): resize the shorter
# side to int(256 / 224 * 224) = 256 (bicubic), centre crop 224, normalise with the ImageNet
# mean / std (timm's IMAGENET_DEFAULT_MEAN / STD, x 255).
dataset_type = 'ImageNet'
data_root = 'data/imagenet'

data_preprocessor = dict(
    num_classes=1000,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

test_pipeline = [
    dict(type='sfmm.LoadImageFromFileSafe', fail_on_error=True),
    dict(type='sfmm.LimitAspectRatio'),
    dict(type='ResizeEdge', scale=256, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]

val_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='val', pipeline=test_pipeline))
val_evaluator = dict(type='Accuracy', topk=(1, 5))

test_dataloader = val_dataloader
test_evaluator = val_evaluator
