# Zero-shot image-text retrieval, SF-L CLIP (bootstrapped from OpenAI CLIP ViT-L/14), 64 tokens
# (63 latent + [CLS]), 224x224, on Flickr30k 1k test split (Karpathy; 1,000 images, 5,000
# captions); captions embedded by the frozen CLIP text tower; recall@1/5/10 both ways. 1 GPU x 64
# images per batch (evaluation only). CHECKPOINT: the bootstrapped SparseFormer (backbone.* keys).
# paper: Table 6, "SF-L_CLIP w/ 64 tokens": Flickr30k I->T@1 80.3, T->I@1 62.8.
_base_ = [
    '../_base_/models/sf-b_clip_retrieval.py',
    '../_base_/datasets/flickr30k_retrieval_clip.py',
    '../_base_/schedules/retrieval_test_only.py',
    '../_base_/default_runtime.py',
]

# model: SF-L CLIP (63 latent tokens, as released) with CLIP ViT-L/14's text tower
model = dict(
    backbone=dict(arch='l-clip', num_latent_tokens=63),
    text_encoder=dict(model_name='ViT-L-14',
                      init_cfg=dict(checkpoint='checkpoints/clip/ViT-L-14_openai.bin')))
