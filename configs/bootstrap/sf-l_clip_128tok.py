# Continue bootstrapping SF-L CLIP with 128 tokens (127 latent + [CLS]) from the 64-token
# checkpoint of sf-l_clip.py: 5 epochs, lr 5e-5, half-cosine, 224x224; 8 GPUs x 128.
# The 63 learned RoIs are kept and 64 new ones are added on a grid.
# paper: Table 6, "CLIP + SF, SF-L_CLIP w/ 128 tokens": ImageNet zero-shot top-1
# 74.9, 30.0 visual GFLOPs.
_base_ = './sf-l_clip.py'

# model: start from the 64-token bootstrap instead of inheriting from the teacher
model = dict(
    backbone=dict(
        num_latent_tokens=127,
        init_cfg=dict(type='sfmm.Pretrained', checkpoint='work_dirs/sf-l_clip/epoch_20.pth',
                      prefix='backbone.', extend_tokens=True)),
    inherit=None)

# schedule: 5 epochs from lr 5e-5, half-cosine, no warm-up (and no warm-up freeze)
optim_wrapper = dict(optimizer=dict(lr=5e-5))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=5, eta_min=0., by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=5)
custom_hooks = _base_.runtime_hooks  # the runtime's hooks, without the warm-up freeze
