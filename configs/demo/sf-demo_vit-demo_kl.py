# Comparison (tools/demo_compare.py): the bootstrapping recipe of sf-demo_vit-demo.py with the
# cosine alignment replaced by KL distillation on the teacher's logits (tau = 3); weights are
# inherited and trained the same way. The paper's Table 3 "KL distill tau = 3" column, at
# demo scale. 1 CPU process x 64 images per batch, 10 epochs.
_base_ = ['./sf-demo_vit-demo.py']

# model
model = dict(align_loss=None, distill_loss=dict(type='sfmm.KLDistillLoss', tau=3.0))
