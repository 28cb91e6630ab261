# Flickr30k 1k test split (Karpathy) for zero-shot image-text retrieval with OpenAI CLIP
# models: 1,000 images, 5,000 captions, from Karpathy's caption file (only the images with
# "split": "test"; the layout of mmpretrain's Flickr30kRetrieval, which needs mmpretrain's
# optional multimodal dependencies, so sfmm.CaptionRetrieval reads it):
#   data/flickr30k/annotations/dataset_flickr30k.json   {"images": [{"filename": ...,
#                                                        "split": ..., "sentences": [...]}]}
#   data/flickr30k/images/*.jpg
# CLIP's own eval transform: shorter side to 224 (bicubic), centre crop 224, CLIP's mean /
# std (x 255).
dataset_type = 'sfmm.CaptionRetrieval'
data_root = 'data/flickr30k'

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
                 ann_file='annotations/dataset_flickr30k.json', data_prefix='images',
                 split='test', pipeline=test_pipeline))
test_evaluator = dict(type='sfmm.RetrievalRecall', topk=(1, 5, 10))

val_dataloader = test_dataloader
val_evaluator = test_evaluator
