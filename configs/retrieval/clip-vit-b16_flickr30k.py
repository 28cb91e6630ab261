# Zero-shot image-text retrieval, OpenAI CLIP ViT-B/16 itself (the teacher of SF-B CLIP), 224x224,
# on Flickr30k 1k test split (Karpathy; 1,000 images, 5,000 captions); captions embedded by the
# frozen CLIP text tower; recall@1/5/10 both ways. 1 GPU x 64 images per batch (evaluation only).
# CHECKPOINT: the visual tower converted by tools/model_converters/clip_to_sfmm.py.
# paper: Table 6, "CLIP ViT-B/16-224": Flickr30k I->T@1 81.9, T->I@1 62.0.
_base_ = [
    '../_base_/models/clip-vit-b16_retrieval.py',
    '../_base_/datasets/flickr30k_retrieval_clip.py',
    '../_base_/schedules/retrieval_test_only.py',
    '../_base_/default_runtime.py',
]
