# Table 3 at demo scale (tools/demo_compare.py): the demo SparseFormer trained from scratch
# with labels: every parameter trainable, nothing inherited. By default on the bootstrapping
# subset for the bootstrapping epochs; tools/demo_compare.py also trains it on all 60,000
# labelled training canvases for the teacher's pre-training epochs (the paper's
# "300 epochs from scratch" row). 1 CPU process x 64 images per batch, AdamW lr 1e-3.
_base_ = ['./sf-demo_fashion-canvas.py']
default_hooks = dict(
    logger=dict(type='sfmm.LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=1))
