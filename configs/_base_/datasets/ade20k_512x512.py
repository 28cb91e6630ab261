# ADE20K (SceneParsing, 150 classes) at 512x512 crops: mmsegmentation 1.2.2's ADE20K pipeline
# (configs/_base_/datasets/ade20k.py), owned by sfmm so that reported numbers do not change
# with the installed mmseg. Layout: data/ade/ADEChallengeData2016/{images,annotations}/
# {training,validation}/*.{jpg,png}; label 0 ("other") is ignored: reduce_zero_label=True maps
# 0 -> 255 and k -> k-1.
dataset_type = 'ADE20KDataset'
data_root = 'data/ade/ADEChallengeData2016'
crop_size = (512, 512)
train_pipeline = [
    dict(type='sfmm.LoadImageFromFileSafe'),
    dict(type='sfmm.LoadSegAnnotations', reduce_zero_label=True),
    # pads 1x4000-like images (and their maps, with 255) to at most 10:1 before RandomResize
    dict(type='sfmm.LimitAspectRatio'),
    # short side 512 * [0.5, 2.0] (long side capped by 2048 * ratio), aspect kept
    dict(type='RandomResize', scale=(2048, 512), ratio_range=(0.5, 2.0), keep_ratio=True),
    # re-draws the crop (up to 10 times) if one class covers > 75% of it
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='sfmm.LoadImageFromFileSafe', fail_on_error=True),
    dict(type='Resize', scale=(2048, 512), keep_ratio=True),
    # after Resize, recording the pad so that predictions are cropped back to the image
    dict(type='sfmm.LimitAspectRatio', record_padding=True),
    # annotations are loaded after Resize: metrics are computed at the original size
    dict(type='sfmm.LoadSegAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs',
         meta_keys=('img_path', 'seg_map_path', 'ori_shape', 'img_shape', 'pad_shape',
                    'scale_factor', 'flip', 'flip_direction', 'reduce_zero_label',
                    'img_padding_size')),
]
img_ratios = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
tta_pipeline = [
    dict(type='sfmm.LoadImageFromFileSafe', fail_on_error=True),
    dict(
        type='TestTimeAug',
        transforms=[
            [dict(type='Resize', scale_factor=r, keep_ratio=True) for r in img_ratios],
            [
                dict(type='RandomFlip', prob=0., direction='horizontal'),
                dict(type='RandomFlip', prob=1., direction='horizontal'),
            ],
            [dict(type='sfmm.LoadSegAnnotations')],
            [dict(type='PackSegInputs')],
        ])
]
train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='images/training', seg_map_path='annotations/training'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='images/validation', seg_map_path='annotations/validation'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader

# IoUMetric with 'mIoU' reports aAcc, mIoU and mAcc (and a per-class table)
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
