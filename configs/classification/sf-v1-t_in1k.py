# SparseFormer-T (v1, ICLR 2024), 49 latent tokens, trained from scratch on ImageNet-1K by the
# authors; ImageNet-1K val at 224x224; 1 GPU x 64 images per batch (evaluation only: the
# figures do not depend on the GPU count or batch).
# paper: T 81.0% / 2.0 G / 32 M (showlab/sparseformer imagenet/README.md)
# measured: 31.52 M / 2.050 G; 2.161 G with the biased mixing counted
# (tools/analysis_tools/get_flops.py configs/classification/sf-v1-t_in1k.py [--baddbmm count])
_base_ = [
    '../_base_/models/sf-v1.py',
    '../_base_/datasets/imagenet_sf-v1.py',
    '../_base_/schedules/test_only.py',
    '../_base_/default_runtime.py',
]

# model
model = dict(head=dict(num_classes=1000))
