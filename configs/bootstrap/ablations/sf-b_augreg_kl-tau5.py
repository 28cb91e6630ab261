# Ablation, paper Table 3 "KL distill tau = 5": as sf-b_augreg_kl-tau3.py with temperature 5
# (20 epochs, 8 GPUs x 128).
# paper: top-1 81.5.
_base_ = '../sf-b_augreg.py'

# model
model = dict(align_loss=None, distill_loss=dict(type='sfmm.KLDistillLoss', tau=5.0))
