# SF-L CLIP (from OpenAI CLIP ViT-L/14, continued with more tokens), 128 tokens (127 latent +
# [CLS]), zero-shot ImageNet-1K val at 224x224 with CLIP's frozen text tower, ImageNet class
# names and the 80 OpenAI prompt templates; 1 GPU x 64 images per batch (evaluation only).
# CHECKPOINT: the continued bootstrap of configs/bootstrap/sf-l_clip_128tok.py
# (work_dirs/sf-l_clip_128tok/epoch_5.pth).
# paper: Table 6, "SF-L_CLIP w/ 128 tokens": zero-shot top-1 74.9, 30.0 visual GFLOPs.
# measured: 212.19M params, 29.29 visual GFLOPs; 29.89 with attention products counted
#   (tools/analysis_tools/get_flops.py configs/classification/sf-l_clip_128tok_in1k-zeroshot.py
#   [--attention count])
_base_ = './sf-l_clip_in1k-zeroshot.py'

# model
model = dict(backbone=dict(num_latent_tokens=127))
