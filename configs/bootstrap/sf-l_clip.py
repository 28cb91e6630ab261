# Bootstrap SF-L CLIP (64 tokens = 63 latent + [CLS]) from the OpenAI CLIP ViT-L/14 visual
# tower on ImageNet-1K train images (no labels, no captions), 224x224, 20 epochs;
# 8 GPUs x 128 (total 1024).
# Reproduces paper Table 6, "CLIP + SF, SF-L_CLIP w/ 64 tokens": ImageNet zero-shot top-1 73.6
# (CLIP ViT-L/14 75.4), 14.8 visual GFLOPs. Evaluate zero-shot with
# tools/test.py configs/classification/sf-l_clip_in1k-zeroshot.py CKPT.
_base_ = [
    '../_base_/models/bootstrap_sf-l_clip.py',
    '../_base_/datasets/imagenet_bootstrap.py',
    '../_base_/schedules/bootstrap_20e.py',
    '../_base_/default_runtime.py',
]

# data: OpenAI CLIP normalisation (as configs/_base_/datasets/imagenet_clip.py)
data_preprocessor = dict(
    mean=[0.48145466 * 255, 0.4578275 * 255, 0.40821073 * 255],
    std=[0.26862954 * 255, 0.26130258 * 255, 0.27577711 * 255])
val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = None
test_evaluator = None
test_cfg = None

# schedule: inherited tunable blocks frozen during the warm-up epoch (epoch 0)
custom_hooks = [
    dict(type='sfmm.CheckpointCompatHook'),
    dict(type='sfmm.NonFiniteLossHook'),
    dict(type='sfmm.WarmupFreezeHook', unfreeze_at=1),
]
