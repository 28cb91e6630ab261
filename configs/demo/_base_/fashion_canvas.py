# Real-image demo data (written by tools/demo.py and tools/pretrain_demo_teacher.py, see
# sfmm/datasets/fashion_canvases.py): Fashion-MNIST items, tinted and resized to 24-44 px, at
# random positions on 64x64 cluttered canvases. train/ holds canvases of the 60,000 training
# photos (the demo lists a subset in meta/train.txt), val/ those of the official 10,000-image
# test split; meta/{train,val}_boxes.txt hold the items' boxes. Read by mmpretrain's
# CustomDataset.
data_root = 'data/fashion_canvas'
classes = ('tshirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker',
           'bag', 'boot')

data_preprocessor = dict(
    num_classes=10,
    mean=[127.5, 127.5, 127.5],
    std=[127.5, 127.5, 127.5],
    to_rgb=True)

train_pipeline = [
    dict(type='sfmm.LoadImageFromFileSafe'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='sfmm.LoadImageFromFileSafe', fail_on_error=True),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='CustomDataset', data_root=data_root, ann_file='meta/train.txt',
                 data_prefix='train', metainfo=dict(classes=classes), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=250,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='CustomDataset', data_root=data_root, ann_file='meta/val.txt',
                 data_prefix='val', metainfo=dict(classes=classes), pipeline=test_pipeline))
val_evaluator = dict(type='Accuracy', topk=(1, ))

test_dataloader = val_dataloader
test_evaluator = val_evaluator
