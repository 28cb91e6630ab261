# Demo teacher: the small ViT (64 tokens + [CLS] at 64x64) trained with labels on the
# procedural demo data, the stand-in for a pre-trained foundation model.
# 1 CPU process x 64 images per batch, 8 epochs, AdamW lr 1e-3; about 3,000 training images.
# Trained and evaluated by `python tools/demo.py`; alone:
#   python tools/train.py configs/demo/vit-demo_demo-in.py --work-dir work_dirs/demo/teacher
_base_ = [
    './_base_/vit-demo.py',
    './_base_/demo_in.py',
    './_base_/schedule_demo.py',
    '../_base_/default_runtime.py',
]

# schedule
default_hooks = dict(
    logger=dict(type='sfmm.LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=8, max_keep_ckpts=1))
