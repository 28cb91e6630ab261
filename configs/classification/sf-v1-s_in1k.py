# SparseFormer-S (v1, ICLR 2024), 64 latent tokens, trained from scratch on ImageNet-1K by the
# authors; ImageNet-1K val at 224x224; 1 GPU x 64 images per batch (evaluation only: the
# figures do not depend on the GPU count or batch).
# paper: S 82.0% / 3.8 G / 48 M (showlab/sparseformer imagenet/README.md)
# measured: 47.58 M / 3.804 G; 3.950 G with the biased mixing counted
# (tools/analysis_tools/get_flops.py configs/classification/sf-v1-s_in1k.py [--baddbmm count])
_base_ = [
    '../_base_/models/sf-v1.py',
    '../_base_/datasets/imagenet_sf-v1.py',
    '../_base_/schedules/test_only.py',
    '../_base_/default_runtime.py',
]

# model
model = dict(backbone=dict(arch='small'), head=dict(in_channels=640, num_classes=1000))
