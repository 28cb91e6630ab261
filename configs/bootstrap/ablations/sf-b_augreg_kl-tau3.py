# Ablation, paper Table 3 "KL distill tau = 3": SF-B AugReg (49 tokens) trained with KL
# distillation between the (inherited, frozen) classifier's logits on the student embedding and
# the teacher's logits at temperature 3, *instead of* the cosine alignment; trainable parts,
# 20 epochs and augmentation as sf-b_augreg.py (8 GPUs x 128).
# paper: top-1 81.0.
_base_ = '../sf-b_augreg.py'

# model
model = dict(align_loss=None, distill_loss=dict(type='sfmm.KLDistillLoss', tau=3.0))
