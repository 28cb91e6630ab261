# Table 3 at demo scale (tools/demo_compare.py): bootstrapping with the cosine alignment
# replaced by KL distillation on the teacher's logits, tau = 3; no labels, weights inherited
# and trained the same way (sf-demo_vit-demo-fashion.py).
_base_ = ['./sf-demo_vit-demo-fashion.py']
model = dict(align_loss=None, distill_loss=dict(type='sfmm.KLDistillLoss', tau=3.0))
