# SF-L AugReg, 80 tokens (79 latent + [CLS]), ImageNet-1K val at 224x224; 1 GPU x 64 images
# per batch (evaluation only). CHECKPOINT: the continued bootstrap of
# configs/bootstrap/sf-l_augreg_80tok.py (work_dirs/sf-l_augreg_80tok/epoch_5.pth).
# paper: Table 2 (and Table 4), "SF-L_AugReg, 80 tokens (continued)": top-1 85.2,
# 213M params, 18.6 GFLOPs.
# measured: 212.43M params, 18.34 GFLOPs; 18.57 with attention products counted
#   (tools/analysis_tools/get_flops.py configs/classification/sf-l_augreg_80tok_in1k.py
#   [--attention count])
_base_ = './sf-l_augreg_in1k.py'

# model
model = dict(backbone=dict(num_latent_tokens=79))
