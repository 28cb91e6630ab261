# Continue bootstrapping SF-L AugReg with 80 tokens at 320x320 from the 49-token checkpoint of
# sf-l_augreg.py: 5 epochs, lr 5e-5, half-cosine; 8 GPUs x 128. The student sees 320px crops;
# the ViT-L/16-224 teacher sees the same crop resized to 224 (its native size).
# paper: Table 2 (and Table 4), "SF-L_AugReg, 80 tokens (continued), 320px (continued)":
# top-1 85.5, 18.7 GFLOPs.
_base_ = './sf-l_augreg_80tok.py'

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
