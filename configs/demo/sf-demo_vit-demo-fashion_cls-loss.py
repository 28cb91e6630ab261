# Table 3 at demo scale (tools/demo_compare.py): bootstrapping "with cls loss": the cosine
# alignment plus the classifier's cross-entropy on the subset's labels (meta/train.txt), with
# the same inherited weights, trainable set and schedule (sf-demo_vit-demo-fashion.py).
_base_ = ['./sf-demo_vit-demo-fashion.py']
model = dict(cls_loss_weight=1.0)
train_dataloader = dict(dataset=dict(ann_file='meta/train.txt', with_label=True))
