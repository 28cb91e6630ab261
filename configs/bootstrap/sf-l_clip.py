# Bootstrap SF-L CLIP (64 tokens = 63 latent + [CLS]) from the OpenAI CLIP ViT-L/14 visual
# tower on ImageNet-1K train images (no labels, no captions), 224x224, 20 epochs;
# 8 GPUs x 128 (total 1024).
# paper: Table 6, "CLIP + SF, SF-L_CLIP w/ 64 tokens": ImageNet zero-shot top-1 73.6
# (CLIP ViT-L/14 75.4), 14.8 visual GFLOPs. Evaluate zero-shot with
# tools/test.py configs/classification/sf-l_clip_in1k-zeroshot.py CKPT.
_base_ = [
    '../_base_/models/bootstrap_sf-b_clip.py',
    '../_base_/datasets/imagenet_bootstrap_clip.py',
    '../_base_/schedules/bootstrap_20e.py',
    '../_base_/default_runtime.py',
]

# model: the SF-B CLIP bootstrap base with SF-L's arch, 63 latent tokens (as the released SF-L
# CLIP) and the ViT-L/14 visual tower (24 blocks, QuickGELU) as teacher: truncate the leading
# 8 blocks, cortex = blocks 8..23 (first 8 tunable), ln_post and the (1024 -> 768) projection
# inherited and frozen
model = dict(
    backbone=dict(arch='l-clip', num_latent_tokens=63),
    teacher=dict(model_name='ViT-L-14',
                 init_cfg=dict(checkpoint='checkpoints/clip/ViT-L-14_openai.bin')),
    inherit=dict(truncate=8),
    num_tunable=8)

# data: no labelled val split (imagenet_bootstrap_clip.py normalises as CLIP does)
val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = None
test_evaluator = None
test_cfg = None

# schedule: inherited tunable blocks frozen during the warm-up epoch (epoch 0)
custom_hooks = _base_.runtime_hooks + [dict(type='sfmm.WarmupFreezeHook', unfreeze_at=1)]
