# Baseline: ViT-B/16 + UPerNet (mmsegmentation's own VisionTransformer, MultiLevelNeck, UPerHead
# and FCN auxiliary head) on ADE20K, 512x512 crops; 8 GPUs x 2 images per batch (total 16),
# 80k iters: mmseg 1.2.2's configs/vit/vit_vit-b16_mln_upernet_8xb2-80k_ade20k-512x512.py with
# sfmm's ADE20K base. Used for the side-by-side params / FLOPs / throughput figures of
# configs/segmentation/README.md.
# measured: 144.17M params, 443.73 GFLOPs at 512x512 (attention products counted), by
#   tools/analysis_tools/get_flops.py configs/segmentation/vit-b16_upernet_ade20k-512x512.py \
#   --shape 512 512 --attention count
# Pretrained weights: timm's ViT-B/16 (e.g. AugReg) converted with mmseg's
# tools/model_converters/vit2mmseg.py to checkpoints/vit-b16_mmseg.pth.
_base_ = [
    '../_base_/datasets/ade20k_512x512.py',
    '../_base_/schedules/ade20k_80k.py',
    '../_base_/seg_runtime.py',
]

# model
crop_size = (512, 512)
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=crop_size)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='VisionTransformer',
        img_size=crop_size,
        patch_size=16,
        in_channels=3,
        embed_dims=768,
        num_layers=12,
        num_heads=12,
        mlp_ratio=4,
        out_indices=(2, 5, 8, 11),
        qkv_bias=True,
        drop_rate=0.0,
        attn_drop_rate=0.0,
        drop_path_rate=0.0,
        with_cls_token=True,
        norm_cfg=dict(type='LN', eps=1e-6),
        act_cfg=dict(type='GELU'),
        norm_eval=False,
        interpolate_mode='bicubic',
        # strict: the converted file's final norm (ln1, unused with final_norm=False) is
        # dropped by name and its 224px position embedding resized to the 512px grid
        # (bicubic), as mmseg's own loader does
        init_cfg=dict(type='sfmm.Pretrained', checkpoint='checkpoints/vit-b16_mmseg.pth',
                      drop_keys=('ln1', ), resize_pos_embed=True)),
    neck=dict(
        type='MultiLevelNeck',
        in_channels=[768, 768, 768, 768],
        out_channels=768,
        scales=[4, 2, 1, 0.5]),
    decode_head=dict(
        type='UPerHead',
        in_channels=[768, 768, 768, 768],
        in_index=[0, 1, 2, 3],
        pool_scales=(1, 2, 3, 6),
        channels=512,
        dropout_ratio=0.1,
        num_classes=150,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=768,
        in_index=3,
        channels=256,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=150,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

# schedule: mmseg's recipe (AdamW lr 6e-5, weight decay 0.01, no decay on pos_embed,
# cls_token and norms; linear warm-up 1500 iters then poly(1.0) to 0)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(custom_keys={
        '.pos_embed': dict(decay_mult=0.),
        '.cls_token': dict(decay_mult=0.),
        'norm': dict(decay_mult=0.),
    }))
auto_scale_lr = dict(enable=False, base_batch_size=16)

# data
train_dataloader = dict(batch_size=2)
