# ImageNet-1K val for the v1 SparseFormers: the eval transform of the released training code
# (showlab/sparseformer imagenet/data/build.py, from the Swin codebase): resize the shorter
# side to int(256 / 224 * 224) = 256 (bicubic), centre crop 224, normalise with the ImageNet
# mean / std (timm's IMAGENET_DEFAULT_MEAN / STD, x 255). Loader and metric: imagenet_augreg.py.
_base_ = ['./imagenet_augreg.py']

data_preprocessor = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])

test_pipeline = [
    dict(type='sfmm.LoadImageFromFileSafe', fail_on_error=True),
    dict(type='sfmm.LimitAspectRatio'),
    dict(type='ResizeEdge', scale=256, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]

val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
