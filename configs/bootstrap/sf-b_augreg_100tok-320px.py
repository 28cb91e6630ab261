# Continue bootstrapping SF-B AugReg with 100 tokens (99 latent + [CLS]) at 320x320 from the
# 49-token checkpoint of sf-b_augreg.py: 5 epochs, lr 5e-5, half-cosine; 8 GPUs x 128. The 48
# learned RoIs are kept and 51 new ones added on a grid; the student sees 320px crops, the
# ViT-B/16-224 teacher the same crop resized to 224 (its native size).
# paper: Table 4, "SF-B_AugReg, 100 tokens (continued), 320px (continued)": top-1
# 84.0, 7.8 GFLOPs, 1579 img/s (ViT-B/16-224 AugReg: 84.6, 17.5 GFLOPs, 1126 img/s).
# Evaluate with configs/classification/sf-b_augreg_100tok-320px_in1k.py.
# Inherits the continued schedule from sf-b_augreg_80tok.py (not from the 80-token 320px leaf,
# which would make the _base_ chain 4 deep) and repeats its 320px pipelines.
_base_ = './sf-b_augreg_80tok.py'

# model
model = dict(backbone=dict(num_latent_tokens=99))

# data: 320px crops; eval at 320 with the same 0.9 crop ratio as at 224 (355 -> 320)
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='sfmm.LoadImageFromFileSafe'),
    dict(type='sfmm.LimitAspectRatio'),
    dict(type='RandomResizedCrop', scale=320, crop_ratio_range=(0.5, 1.0),
         aspect_ratio_range=(3. / 4., 4. / 3.), backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]))
val_dataloader = dict(dataset=dict(pipeline=[
    dict(type='sfmm.LoadImageFromFileSafe', fail_on_error=True),
    dict(type='sfmm.LimitAspectRatio'),
    dict(type='ResizeEdge', scale=355, edge='short', backend='pillow', interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=320),
    dict(type='PackInputs'),
]))
test_dataloader = val_dataloader
