# Continue bootstrapping SF-B AugReg with 80 tokens (79 latent + [CLS]) from the 49-token
# checkpoint of sf-b_augreg.py: 5 epochs, lr 5e-5, half-cosine, 224x224; 8 GPUs x 128.
# The 48 learned RoIs are kept and 31 new ones are added on a grid
# (sfmm.models.utils.extend_tokens); the teacher is re-read from its file.
# paper: Table 2 (and Table 4), "SF-B_AugReg, 80 tokens (continued)":
# top-1 83.4, 6.2 GFLOPs.
_base_ = './sf-b_augreg.py'

# model: start from the 49-token bootstrap instead of inheriting from the teacher
model = dict(
    backbone=dict(
        num_latent_tokens=79,
        init_cfg=dict(type='sfmm.Pretrained', checkpoint='work_dirs/sf-b_augreg/epoch_20.pth',
                      prefix='backbone.', extend_tokens=True)),
    head=dict(init_cfg=dict(type='sfmm.Pretrained',
                            checkpoint='work_dirs/sf-b_augreg/epoch_20.pth',
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
