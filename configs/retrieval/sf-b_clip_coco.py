# Zero-shot image-text retrieval, SF-B CLIP (bootstrapped from OpenAI CLIP ViT-B/16), 49 tokens
# (48 latent + [CLS]), 224x224, on MS COCO 5k test split (Karpathy; 5,000 images, 25,010
# captions); captions embedded by the frozen CLIP text tower; recall@1/5/10 both ways. 1 GPU x 64
# images per batch (evaluation only). CHECKPOINT: the bootstrapped SparseFormer (backbone.* keys).
# paper: Table 6, "SF-B_CLIP w/ 49 tokens": MS COCO I->T@1 47.7, T->I@1 31.5.
_base_ = [
    '../_base_/models/sf-b_clip_retrieval.py',
    '../_base_/datasets/coco_retrieval_clip.py',
    '../_base_/schedules/retrieval_test_only.py',
    '../_base_/default_runtime.py',
]
