# SF-L AugReg, 49 tokens (48 latent + [CLS]), ImageNet-1K val at 224x224; 1 GPU x 64 images
# per batch (evaluation only: the figures do not depend on the GPU count or batch).
# paper: Table 2, "SF-L_AugReg, 49 tokens" (from ViT-L/16-224): top-1 84.5,
# 213M params, 11.4 GFLOPs.
# measured: 212.43M params, 11.27 GFLOPs; 11.36 with attention products counted
#   (tools/analysis_tools/get_flops.py configs/classification/sf-l_augreg_in1k.py
#   [--attention count])
_base_ = [
    '../_base_/models/sf-b_augreg.py',
    '../_base_/datasets/imagenet_augreg.py',
    '../_base_/schedules/test_only.py',
    '../_base_/default_runtime.py',
]

# model: SF-L's arch on the SF-B AugReg base
model = dict(backbone=dict(arch='l-augreg'), head=dict(in_channels=1024, num_classes=1000))
