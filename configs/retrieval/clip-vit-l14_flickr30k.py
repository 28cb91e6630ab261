# Zero-shot image-text retrieval, OpenAI CLIP ViT-L/14 itself (the teacher of SF-L CLIP), 224x224,
# on Flickr30k 1k test split (Karpathy; 1,000 images, 5,000 captions); captions embedded by the
# frozen CLIP text tower; recall@1/5/10 both ways. 1 GPU x 64 images per batch (evaluation only).
# CHECKPOINT: the visual tower converted by tools/model_converters/clip_to_sfmm.py.
# paper: Table 6, "CLIP ViT-L/14-224": Flickr30k I->T@1 85.1, T->I@1 65.2.
_base_ = [
    '../_base_/models/clip-vit-b16_retrieval.py',
    '../_base_/datasets/flickr30k_retrieval_clip.py',
    '../_base_/schedules/retrieval_test_only.py',
    '../_base_/default_runtime.py',
]

# model
model = dict(
    backbone=dict(teacher=dict(model_name='ViT-L-14',
                               init_cfg=dict(checkpoint='checkpoints/clip/ViT-L-14_openai.bin'))),
    text_encoder=dict(model_name='ViT-L-14',
                      init_cfg=dict(checkpoint='checkpoints/clip/ViT-L-14_openai.bin')))
