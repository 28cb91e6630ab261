# Zero-shot image-text retrieval, OpenAI CLIP ViT-B/32 itself (a smaller CLIP baseline; no
# SparseFormer is bootstrapped from it), 224x224, on Flickr30k 1k test split
# (Karpathy; 1,000 images, 5,000 captions); captions embedded by the frozen CLIP text tower;
# recall@1/5/10 both ways. 1 GPU x 64 images per batch (evaluation only).
# CHECKPOINT: the visual tower converted by tools/model_converters/clip_to_sfmm.py ViT-B-32.
# paper: Table 6, "CLIP ViT-B/32-224": Flickr30k I->T@1 77.5, T->I@1 58.8.
_base_ = [
    '../_base_/models/clip-vit-b16_retrieval.py',
    '../_base_/datasets/flickr30k_retrieval_clip.py',
    '../_base_/schedules/retrieval_test_only.py',
    '../_base_/default_runtime.py',
]

# model
model = dict(
    backbone=dict(teacher=dict(model_name='ViT-B-32',
                               init_cfg=dict(checkpoint='checkpoints/clip/ViT-B-32_openai.bin'))),
    text_encoder=dict(model_name='ViT-B-32',
                      init_cfg=dict(checkpoint='checkpoints/clip/ViT-B-32_openai.bin')))
