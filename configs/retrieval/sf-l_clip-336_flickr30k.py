# Zero-shot image-text retrieval, SF-L CLIP (bootstrapped from OpenAI CLIP ViT-L/14-336), 144
# tokens (143 latent + [CLS]), 336x336, on Flickr30k 1k test split (Karpathy; 1,000 images, 5,000
# captions); captions embedded by the frozen CLIP text tower; recall@1/5/10 both ways. 1 GPU x 64
# images per batch (evaluation only). CHECKPOINT: the bootstrapped SparseFormer (backbone.* keys).
# paper: Table 6, "SF-L_CLIP w/ 144 tokens": Flickr30k I->T@1 84.6, T->I@1 67.7.
_base_ = [
    '../_base_/models/sf-b_clip_retrieval.py',
    '../_base_/datasets/flickr30k_retrieval_clip.py',
    '../_base_/schedules/retrieval_test_only.py',
    '../_base_/default_runtime.py',
]

# model: SF-L CLIP with CLIP ViT-L/14-336's text tower
model = dict(
    backbone=dict(arch='l-clip', num_latent_tokens=143),
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
