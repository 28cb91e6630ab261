# Demo student evaluation on real images: the SparseFormer (15 latent tokens + [CLS]) as an
# mmpretrain classifier on the official Fashion-MNIST test split (10,000 canvases). A bootstrap
# checkpoint (backbone.*, head.fc.*) loads into it directly, e.g.
#   python tools/test.py configs/demo/sf-demo_fashion-canvas.py work_dirs/demo/student.pth
_base_ = [
    './_base_/sf-demo.py',
    './_base_/fashion_canvas.py',
    './_base_/schedule_demo.py',
    '../_base_/default_runtime.py',
]
model = dict(head=dict(num_classes=10))
