# Ablation, paper Table 8 "SF-L_AugReg, all tunable": truncate 8, 16 of 16 cortex blocks
# tunable (0.1x lr, frozen in the warm-up epoch); 20 epochs, 8 GPUs x 128.
# paper: top-1 84.4, 11.4 GFLOPs.
_base_ = '../sf-l_augreg.py'

# model
model = dict(num_tunable=16)
