# Continue bootstrapping SF-L AugReg (ViT-L/16-384 teacher) with 196 tokens (195 latent +
# [CLS]) from the 49-token checkpoint of sf-l_augreg-384.py: 5 epochs, lr 5e-5, half-cosine,
# 384x384; 8 GPUs x 128. The 48 learned RoIs are kept and 147 new ones added on a grid.
# paper: Table 2, "SF-L_AugReg, 196 tokens (continued)" under ViT-L/16-384:
# top-1 86.7, 46.5 GFLOPs (Table 4: 86.7).
_base_ = './sf-l_augreg-384.py'

# model: start from the 49-token bootstrap instead of inheriting from the teacher
model = dict(
    backbone=dict(
        num_latent_tokens=195,
        init_cfg=dict(type='sfmm.Pretrained', checkpoint='work_dirs/sf-l_augreg-384/epoch_20.pth',
                      prefix='backbone.', extend_tokens=True)),
    head=dict(init_cfg=dict(type='sfmm.Pretrained',
                            checkpoint='work_dirs/sf-l_augreg-384/epoch_20.pth',
                            prefix='head.')),
    inherit=None)

# schedule: 5 epochs from lr 5e-5, half-cosine, no warm-up (and no warm-up freeze)
optim_wrapper = dict(optimizer=dict(lr=5e-5))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=5, eta_min=0., by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=5, val_interval=1)
custom_hooks = _base_.runtime_hooks  # the runtime's hooks, without the warm-up freeze
