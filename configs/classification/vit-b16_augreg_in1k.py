# ViT-B/16-224 AugReg (IN-21K pre-trained, IN-1K fine-tuned; timm weights), 196 tokens,
# ImageNet-1K val at 224x224; 1 GPU x 64 images per batch (evaluation only).
# The baseline and teacher of SF-B AugReg.
# paper: Table 2, top-1 84.6, 86M params, 17.5 GFLOPs.
# measured: 86.57M params, 16.87 GFLOPs; 17.58 with attention products counted
#   (tools/analysis_tools/get_flops.py configs/classification/vit-b16_augreg_in1k.py
#   [--attention count])
_base_ = [
    '../_base_/models/vit-b16_augreg.py',
    '../_base_/datasets/imagenet_augreg.py',
    '../_base_/schedules/test_only.py',
    '../_base_/default_runtime.py',
]

# model
model = dict(head=dict(num_classes=1000))
