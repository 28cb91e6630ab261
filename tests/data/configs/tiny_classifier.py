# A tiny mmpretrain classifier on a fabricated ImageNet-layout folder, for tool tests.
# No random augmentation, so an interrupted-and-resumed run is bitwise comparable.
default_scope = 'mmpretrain'
custom_imports = dict(imports=['sfmm.engine'], allow_failed_imports=False)

model = dict(
    type='ImageClassifier',
    backbone=dict(type='VisionTransformer', img_size=32, patch_size=8,
                  arch=dict(embed_dims=16, num_layers=1, num_heads=2, feedforward_channels=32),
                  drop_rate=0., drop_path_rate=0.),
    neck=None,
    head=dict(type='VisionTransformerClsHead', num_classes=2, in_channels=16,
              loss=dict(type='CrossEntropyLoss')))

data_root = 'data/tiny_imagenet'
data_preprocessor = dict(num_classes=2, mean=[127.5] * 3, std=[127.5] * 3, to_rgb=True)
pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=4, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True, seed=0),
    dataset=dict(type='ImageNet', data_root=data_root, split='train', pipeline=pipeline,
                 ann_file='meta/train.txt', data_prefix='train', classes=['a', 'b']))
val_dataloader = dict(
    batch_size=4, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='ImageNet', data_root=data_root, split='val', pipeline=pipeline,
                 ann_file='meta/val.txt', data_prefix='val', classes=['a', 'b']))
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4))
param_scheduler = dict(type='MultiStepLR', by_epoch=True, milestones=[1], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=2, val_interval=1)
val_cfg = dict()
test_cfg = dict()

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='sfmm.LoggerHook', interval=1),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False))
custom_hooks = [dict(type='sfmm.CheckpointCompatHook')]
env_cfg = dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method='fork'),
               dist_cfg=dict(backend='gloo'))
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)
log_level = 'INFO'
runner_type = 'sfmm.Runner'  # strict load_from / --resume, as sfmm's runtime bases
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
