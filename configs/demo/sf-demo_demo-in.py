# Demo student evaluation: the SparseFormer (15 latent tokens + [CLS]) as an mmpretrain
# classifier on the demo val split. A bootstrap checkpoint (backbone.*, head.fc.*) loads into it
# directly, e.g.
#   python tools/test.py configs/demo/sf-demo_demo-in.py work_dirs/demo/student/epoch_10.pth
# 1 CPU process x 100 images per batch (evaluation only).
_base_ = [
    './_base_/sf-demo.py',
    './_base_/demo_in.py',
    './_base_/schedule_demo.py',
    '../_base_/default_runtime.py',
]
