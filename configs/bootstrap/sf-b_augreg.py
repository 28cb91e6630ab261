# Bootstrap SF-B (49 tokens) from ViT-B/16-224 AugReg on ImageNet-1K train images (no labels),
# 224x224, 20 epochs; 8 GPUs x 128 images per batch (total 1024).
# paper: Table 2, "SF-B_AugReg, 49 tokens": top-1 82.5 (teacher 84.6), 64M params,
# 3.8 GFLOPs; it is also the "default" row of Tables 3 and 8 (82.5).
# Teacher: the original AugReg ViT-B/16 (IN-21K pre-trained, IN-1K fine-tuned), the model of
# the paper's tables (84.6 top-1 in Tables 2 and 4), timm's
# `vit_base_patch16_224.augreg_in21k_ft_in1k`, read from
# checkpoints/timm/vit_base_patch16_224.augreg_in21k_ft_in1k.safetensors (timm's
# model.safetensors). A timm .pth or the original AugReg .npz (gs://vit_models/augreg/
# B_16-i21k-300ep-lr_0.001-aug_medium1-wd_0.1-do_0.0-sd_0.0--imagenet2012-steps_20k-lr_0.01-
# res_224.npz) load too, with teacher.checkpoint pointing at them. timm's later re-fine-tuned
# augreg2 weights (85.1 top-1, not the paper's teacher): sf-b_augreg2.py.
# Evaluate with:
#   tools/test.py configs/classification/sf-b_augreg_in1k.py work_dirs/sf-b_augreg/epoch_20.pth
_base_ = [
    '../_base_/models/bootstrap_sf-b_augreg.py',
    '../_base_/datasets/imagenet_bootstrap.py',
    '../_base_/schedules/bootstrap_20e.py',
    '../_base_/default_runtime.py',
]

# schedule: inherited tunable blocks frozen during the warm-up epoch (epoch 0)
custom_hooks = _base_.runtime_hooks + [dict(type='sfmm.WarmupFreezeHook', unfreeze_at=1)]
