# Zero-shot image-text retrieval, SF-B CLIP (bootstrapped from OpenAI CLIP ViT-B/16), 49 tokens
# (48 latent + [CLS]), 224x224, on Flickr30k 1k test split (Karpathy; 1,000 images, 5,000
# captions); captions embedded by the frozen CLIP text tower; recall@1/5/10 both ways. 1 GPU x 64
# images per batch (evaluation only). CHECKPOINT: the bootstrapped SparseFormer (backbone.* keys).
# paper: Table 6, "SF-B_CLIP w/ 49 tokens": Flickr30k I->T@1 76.3, T->I@1 59.6.
_base_ = [
    '../_base_/models/sf-b_clip_retrieval.py',
    '../_base_/datasets/flickr30k_retrieval_clip.py',
    '../_base_/schedules/retrieval_test_only.py',
    '../_base_/default_runtime.py',
]
