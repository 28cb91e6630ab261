# The SF-L segmenter with its dense queries and pixel-token attention at stride 2 instead of
# SPEC's stride 4: the queries come from the early convolution's own stride-2 map (conv + ReLU
# before its max-pool, channel-normalised like the stride-4 map; backbone output
# 'feat_map_s2'), and the logits come out at 256x256 for a 512x512 crop. Not the paper's stated
# head (SPEC and the paper put the queries at H/4); it is the variant whose cost matches the
# paper's Table 5 FLOPs (see configs/segmentation/README.md, "How the figures compare with the
# paper"). Same parameters as the stride-4 leaf.
# measured: 213.43M params, 78.41 GFLOPs (attention products counted), by
#   tools/analysis_tools/get_flops.py \
#   configs/segmentation/sf-l_augreg_stride2-head_ade20k-512x512.py \
#   --shape 512 512 --attention count
_base_ = './sf-l_augreg_ade20k-512x512.py'

# model
model = dict(
    backbone=dict(out_keys=('feat_map', 'rois', 'tokens', 'feat_map_s2')),
    decode_head=dict(query_scale=2, in_channels=(64, 4, 1024, 64), in_index=(0, 1, 2, 3)))
