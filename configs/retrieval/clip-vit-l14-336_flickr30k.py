# Zero-shot image-text retrieval, OpenAI CLIP ViT-L/14-336 itself (the teacher of SF-L CLIP 336),
# 336x336, on Flickr30k 1k test split (Karpathy; 1,000 images, 5,000 captions); captions embedded
# by the frozen CLIP text tower; recall@1/5/10 both ways. 1 GPU x 64 images per batch (evaluation
# only). CHECKPOINT: the visual tower converted by tools/model_converters/clip_to_sfmm.py.
# paper: Table 6, "CLIP ViT-L/14-336": Flickr30k I->T@1 87.4, T->I@1 67.3.
_base_ = [
    '../_base_/models/clip-vit-b16_retrieval.py',
    '../_base_/datasets/flickr30k_retrieval_clip.py',
    '../_base_/schedules/retrieval_test_only.py',
    '../_base_/default_runtime.py',
]

# model
model = dict(
    backbone=dict(teacher=dict(
        model_name='ViT-L-14-336',
        init_cfg=dict(checkpoint='checkpoints/clip/ViT-L-14-336_openai.bin'))),
    text_encoder=dict(model_name='ViT-L-14-336',
                      init_cfg=dict(checkpoint='checkpoints/clip/ViT-L-14-336_openai.bin')))

# data: 336px
test_pipeline = [
    dict(type='sfmm.LoadImageFromFileSafe', fail_on_error=True),
    dict(type='sfmm.LimitAspectRatio'),
    dict(type='ResizeEdge', scale=336, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=336),
    dict(type='PackInputs', algorithm_keys=['text', 'gt_text_id', 'gt_image_id'],
         meta_keys=['image_id']),
]
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
val_dataloader = test_dataloader
