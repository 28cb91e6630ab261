# SF-B AugReg, 80 tokens (79 latent + [CLS]), ImageNet-1K val at 224x224; 1 GPU x 64 images
# per batch (evaluation only). CHECKPOINT: the continued bootstrap of
# configs/bootstrap/sf-b_augreg_80tok.py (work_dirs/sf-b_augreg_80tok/epoch_5.pth).
# paper: Table 2 (and Table 4), "SF-B_AugReg, 80 tokens (continued)": top-1 83.4,
# 64M params, 6.2 GFLOPs.
# measured: 64.19M params, 6.06 GFLOPs; 6.15 with attention products counted
#   (tools/analysis_tools/get_flops.py configs/classification/sf-b_augreg_80tok_in1k.py
#   [--attention count])
_base_ = './sf-b_augreg_in1k.py'

# model
model = dict(backbone=dict(num_latent_tokens=79))
