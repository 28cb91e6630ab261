# The SF-L segmenter with its dense queries and pixel-token attention at stride 2 instead of
# SPEC's stride 4: the early-convolution map is upsampled 2x (bilinear) before the 3x3 query conv,
# and the logits come out at 256x256 for a 512x512 crop. Not the paper's stated head (SPEC and the
# paper put the queries at H/4); it is the variant whose cost matches the paper's Table 5 FLOPs
# (see configs/segmentation/README.md, "How the figures compare with the paper").
_base_ = './sf-l_augreg_ade20k-512x512.py'

model = dict(decode_head=dict(query_scale=2))
