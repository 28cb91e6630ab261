# Ablation, paper Table 8 "SF-B_AugReg, all frozen": truncate 4, 0 of 8 cortex blocks tunable
# (only the focusing part and [CLS] train); 20 epochs, 8 GPUs x 128.
# paper: top-1 81.8, 3.8 GFLOPs.
_base_ = '../sf-b_augreg.py'

# model
model = dict(num_tunable=0)
