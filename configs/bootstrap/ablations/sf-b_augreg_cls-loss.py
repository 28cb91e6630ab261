# Ablation, paper Table 3 "with cls loss": SF-B AugReg (49 tokens) bootstrapped with the cosine
# alignment *plus* the supervised cross-entropy of the inherited classifier on ImageNet labels
# (weight 1); otherwise as sf-b_augreg.py (20 epochs, 8 GPUs x 128). This is the only
# bootstrap config that reads labels.
# paper: top-1 77.4 (vs 82.5 without the cls loss).
_base_ = '../sf-b_augreg.py'

# model
model = dict(cls_loss_weight=1.0)

# data: the labelled ImageNet train split (same augmentation)
train_dataloader = dict(dataset=dict(_delete_=True, type='ImageNet', data_root='data/imagenet',
                                     split='train', pipeline={{_base_.train_pipeline}}))
