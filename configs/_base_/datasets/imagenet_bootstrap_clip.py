# ImageNet-1K for bootstrapping from an OpenAI CLIP teacher: imagenet_bootstrap.py (train images
# without labels, the paper's minimal augmentation) normalised with CLIP's mean / std instead of
# AugReg's 0.5 / 0.5, as the teacher expects (configs/_base_/datasets/clip_normalize.py).
_base_ = ['./imagenet_bootstrap.py', './clip_normalize.py']

data_preprocessor = dict(mean=_base_.clip_normalize.mean, std=_base_.clip_normalize.std)
