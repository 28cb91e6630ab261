# MS COCO 5k test split (Karpathy) for zero-shot image-text retrieval with OpenAI CLIP models:
# 5,000 val2014 images, 25,010 captions, read from the BLIP/clip_benchmark caption file
#   data/coco/annotations/coco_karpathy_test.json   [{"image": "val2014/COCO_val2014_....jpg",
#                                                     "caption": [...]}, ...]
#   data/coco/val2014/*.jpg
# (Karpathy's dataset_coco.json with split='test' reads the same way.) CLIP's own eval
# transform: shorter side to 224 (bicubic), centre crop 224, CLIP's mean / std (x 255).
dataset_type = 'sfmm.CaptionRetrieval'
data_root = 'data/coco'

data_preprocessor = dict(
    type='ClsDataPreprocessor',
    mean=[0.48145466 * 255, 0.4578275 * 255, 0.40821073 * 255],
    std=[0.26862954 * 255, 0.26130258 * 255, 0.27577711 * 255],
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
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='annotations/coco_karpathy_test.json', data_prefix='',
                 pipeline=test_pipeline))
test_evaluator = dict(type='sfmm.RetrievalRecall', topk=(1, 5, 10))

val_dataloader = test_dataloader
val_evaluator = test_evaluator
