# SparseFormer-B (v1, ICLR 2024), 81 latent tokens, trained from scratch on ImageNet-1K by the
# authors; ImageNet-1K val at 224x224; 1 GPU x 64 images per batch (evaluation only: the
# figures do not depend on the GPU count or batch).
# paper: B 82.6% / 7.8 G / 81 M (showlab/sparseformer imagenet/README.md)
# measured: 81.08 M / 7.699 G; 7.884 G with the biased mixing counted
# (tools/analysis_tools/get_flops.py configs/classification/sf-v1-b_in1k.py [--baddbmm count])
_base_ = [
    '../_base_/models/sf-v1.py',
    '../_base_/datasets/imagenet_sf-v1.py',
    '../_base_/schedules/test_only.py',
    '../_base_/default_runtime.py',
]

# model
model = dict(backbone=dict(arch='base'), head=dict(in_channels=768, num_classes=1000))
