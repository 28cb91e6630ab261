# Bootstrap SF-B CLIP (49 tokens) from the OpenAI CLIP ViT-B/16 visual tower on ImageNet-1K
# train images (no labels, no captions), 224x224, 20 epochs; 8 GPUs x 128 (total 1024).
# paper: Table 6, "CLIP + SF, SF-B_CLIP w/ 49 tokens": ImageNet zero-shot top-1 66.0
# (CLIP ViT-B/16 68.3), 3.8 visual GFLOPs. No classifier, so no validation here; evaluate
# zero-shot with tools/test.py configs/classification/sf-b_clip_in1k-zeroshot.py CKPT.
_base_ = [
    '../_base_/models/bootstrap_sf-b_clip.py',
    '../_base_/datasets/imagenet_bootstrap_clip.py',
    '../_base_/schedules/bootstrap_20e.py',
    '../_base_/default_runtime.py',
]

# data: no labelled val split (imagenet_bootstrap_clip.py normalises as CLIP does)
val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = None
test_evaluator = None
test_cfg = None

# schedule: inherited tunable blocks frozen during the warm-up epoch (epoch 0)
custom_hooks = _base_.runtime_hooks + [dict(type='sfmm.WarmupFreezeHook', unfreeze_at=1)]
