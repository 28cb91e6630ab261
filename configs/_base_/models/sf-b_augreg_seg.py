# SparseFormer-B (AugReg) segmenter: 255 latent tokens + [CLS] ("256 tokens", paper sec. 4.1),
# the RoI-aware logit-projection head on the tokens' final RoIs and the early-conv map.
# SF-L leaves override backbone.arch ('l-augreg') and the head's cortex width
# (decode_head.in_channels). No dataset facts here: the leaf sets num_classes, crop size and
# data_preprocessor.size.
data_preprocessor = dict(
    type='SegDataPreProcessor',
    # the AugReg ViTs (and the SparseFormers bootstrapped from them) use mean = std = 0.5
    mean=[127.5, 127.5, 127.5],
    std=[127.5, 127.5, 127.5],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='sfmm.SparseFormer',
        arch='b-augreg',
        num_latent_tokens=255,
        out_keys=('feat_map', 'rois', 'tokens')),
    decode_head=dict(
        type='sfmm.RoILogitProjectionHead',
        in_channels=(64, 4, 768),  # early-conv C, RoI (x1y1x2y2), cortex width D
        in_index=(0, 1, 2),
        input_transform='multiple_select',
        channels=256,
        num_blocks=2,
        num_heads=4,
        use_geometric_bias=True,
        use_predictive_bias=True,
        geo_scale_init=4.,
        geo_scale_learnable=True,
        attn_chunk_size=None,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
