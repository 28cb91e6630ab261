# ImageNet-1K val for OpenAI CLIP models: CLIP's own eval transform, i.e. resize the shorter
# side to 224 (bicubic), centre crop 224, normalise with CLIP's mean / std (x 255,
# clip_normalize.py). Loader and metric: imagenet_augreg.py.
_base_ = ['./imagenet_augreg.py', './clip_normalize.py']

data_preprocessor = dict(mean=_base_.clip_normalize.mean, std=_base_.clip_normalize.std)

test_pipeline = [
    dict(type='sfmm.LoadImageFromFileSafe', fail_on_error=True),
    dict(type='sfmm.LimitAspectRatio'),
    dict(type='ResizeEdge', scale=224, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]

val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
