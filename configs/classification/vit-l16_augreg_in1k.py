# ViT-L/16-224 AugReg (IN-21K pre-trained, IN-1K fine-tuned; timm weights), 196 tokens,
# ImageNet-1K val at 224x224; 1 GPU x 64 images per batch (evaluation only).
# The baseline and teacher of SF-L AugReg. Paper Table 2: top-1 85.8, 304M params, 61.6 GFLOPs.
_base_ = [
    '../_base_/models/vit-l16_augreg.py',
    '../_base_/datasets/imagenet_augreg.py',
    '../_base_/schedules/test_only.py',
    '../_base_/default_runtime.py',
]

# model
model = dict(head=dict(num_classes=1000))
