# SF-B AugReg, 49 tokens (48 latent + [CLS]), ImageNet-1K val at 224x224; 1 GPU x 64 images
# per batch (evaluation only: the figures do not depend on the GPU count or batch).
# paper: Table 2, "SF-B_AugReg, 49 tokens": top-1 82.5, 64M params, 3.8 GFLOPs.
# measured: 64.19M params, 3.75 GFLOPs; 3.79 with attention products counted
#   (tools/analysis_tools/get_flops.py configs/classification/sf-b_augreg_in1k.py
#   [--attention count])
_base_ = [
    '../_base_/models/sf-b_augreg.py',
    '../_base_/datasets/imagenet_augreg.py',
    '../_base_/schedules/test_only.py',
    '../_base_/default_runtime.py',
]

# model
model = dict(head=dict(num_classes=1000))
