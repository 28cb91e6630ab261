# SF-L AugReg, 49 tokens (48 latent + [CLS]), ImageNet-1K val at 224x224; 1 GPU x 64 images
# per batch (evaluation only: the figures do not depend on the GPU count or batch).
# Reproduces paper Table 2, "SF-L_AugReg, 49 tokens" (from ViT-L/16-224): top-1 84.5,
# 213M params, 11.4 GFLOPs (11.27 G in the fvcore count without attention products, SPEC).
_base_ = [
    '../_base_/models/sf-l_augreg.py',
    '../_base_/datasets/imagenet_augreg.py',
    '../_base_/schedules/test_only.py',
    '../_base_/default_runtime.py',
]

# model
model = dict(head=dict(num_classes=1000))
