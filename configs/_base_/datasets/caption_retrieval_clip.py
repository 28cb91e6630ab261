# Zero-shot image-text retrieval data for OpenAI CLIP models: every image and caption of one
# test split (sfmm.CaptionRetrieval), with CLIP's own eval transform: shorter side to 224
# (bicubic), centre crop 224, CLIP's mean / std (x 255, clip_normalize.py). The split's files
# are set by coco_retrieval_clip.py and flickr30k_retrieval_clip.py.
_base_ = ['./clip_normalize.py']
dataset_type = 'sfmm.CaptionRetrieval'

data_preprocessor = dict(
    type='ClsDataPreprocessor',
    mean=_base_.clip_normalize.mean,
    std=_base_.clip_normalize.std,
    to_rgb=True)

test_pipeline = [
    dict(type='sfmm.LoadImageFromFileSafe', fail_on_error=True),
    dict(type='sfmm.LimitAspectRatio'),
    dict(type='ResizeEdge', scale=224, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs', algorithm_keys=['text', 'gt_text_id', 'gt_image_id'],
         meta_keys=['image_id']),
]

test_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, pipeline=test_pipeline))
test_evaluator = dict(type='sfmm.RetrievalRecall', topk=(1, 5, 10))

val_dataloader = test_dataloader
val_evaluator = test_evaluator
