# Ablation, paper Table 3 "w/o reusing weights": SF-B AugReg (49 tokens) whose cortex and final
# norm start from scratch (only the teacher's classifier is inherited, frozen) and are all
# trained, aligning to the teacher for the same 20 epochs (8 GPUs x 128).
# paper: top-1 69.5.
_base_ = '../sf-b_augreg.py'

# model: nothing but the classifier from the teacher; every cortex block and the norm train
model = dict(inherit=dict(truncate=4, reuse_blocks=False), num_tunable=None)
