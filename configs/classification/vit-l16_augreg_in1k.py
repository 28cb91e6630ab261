# ViT-L/16-224 AugReg (IN-21K pre-trained, IN-1K fine-tuned; timm weights), 196 tokens,
# ImageNet-1K val at 224x224; 1 GPU x 64 images per batch (evaluation only).
# The baseline and teacher of SF-L AugReg.
# paper: Table 2, top-1 85.8, 304M params, 61.6 GFLOPs.
# measured: 304.33M params, 59.70 GFLOPs; 61.60 with attention products counted
#   (tools/analysis_tools/get_flops.py configs/classification/vit-l16_augreg_in1k.py
#   [--attention count])
_base_ = [
    '../_base_/models/vit-b16_augreg.py',
    '../_base_/datasets/imagenet_augreg.py',
    '../_base_/schedules/test_only.py',
    '../_base_/default_runtime.py',
]

# model: ViT-L/16 on the ViT-B/16 AugReg base
model = dict(backbone=dict(arch='l'), head=dict(in_channels=1024, num_classes=1000))
