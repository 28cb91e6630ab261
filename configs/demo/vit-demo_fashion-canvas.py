# The demo's stand-in foundation model on real images: the small ViT (64 patch tokens + [CLS]
# at 64x64) pre-trained with labels on all 60,000 Fashion-MNIST training canvases, 10 classes.
# 1 CPU process x 128 images per batch, AdamW lr 2e-3, 1 warm-up epoch then cosine.
# Made once by `python tools/pretrain_demo_teacher.py` (configs/demo/weights/README.md), which
# writes configs/demo/weights/vit-demo_fashion-canvas.safetensors; `make demo` starts from it.
_base_ = [
    './_base_/vit-demo.py',
    './_base_/fashion_canvas.py',
    './_base_/schedule_demo.py',
    '../_base_/default_runtime.py',
]
model = dict(head=dict(num_classes=10))
train_dataloader = dict(batch_size=128)
optim_wrapper = dict(optimizer=dict(lr=2e-3))
default_hooks = dict(
    logger=dict(type='sfmm.LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=1))
