# Ablation, paper Table 8 "SF-B_AugReg, all tunable": truncate 4, 8 of 8 cortex blocks tunable
# (0.1x lr, frozen in the warm-up epoch); 20 epochs, 8 GPUs x 128.
# paper: top-1 82.4, 3.8 GFLOPs.
_base_ = '../sf-b_augreg.py'

# model
model = dict(num_tunable=8)
