# SF-B AugReg segmenter on ADE20K, 512x512 crops, 256 tokens (255 latent + [CLS]), fine-tuned
# from the 49-token bootstrapped SF-B AugReg; 8 GPUs x 4 images per batch (total 32), 80k iters.
# paper: Table 5, "SF-B_AugReg segmentation": 49.3 mIoU, 68M params, 36 GFLOPs, 88 img/s (A5000).
# Pretrained weights: the bootstrap run's checkpoint (configs/bootstrap/sf-b_augreg.py ->
# work_dirs/sf-b_augreg/epoch_20.pth) or a released showlab/sparseformer "v2 converted" SF-B
# AugReg file, copied or linked to checkpoints/sf-b_augreg.pth. Its 48 learned initial RoIs are
# kept and 207 grid RoIs added (init_cfg sfmm.Pretrained with extend_tokens=True).
# measured: 65.38M params, 25.31 GFLOPs (attention products counted), by
#   tools/analysis_tools/get_flops.py configs/segmentation/sf-b_augreg_ade20k-512x512.py \
#   --shape 512 512 --attention count
_base_ = [
    '../_base_/models/sf-b_augreg_seg.py',
    '../_base_/datasets/ade20k_512x512.py',
    '../_base_/schedules/ade20k_80k.py',
    '../_base_/seg_runtime.py',
]

# model
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        drop_path_rate=0.3,  # ViT-Adapter-B's drop-path rate (paper: "drop path settings")
        # the bootstrap checkpoint's embedding head (final norm, projection) is not built
        # in a segmenter (no 'embed' output): its keys are dropped by name
        init_cfg=dict(type='sfmm.Pretrained', checkpoint='checkpoints/sf-b_augreg.pth',
                      prefix='backbone.', extend_tokens=True, drop_keys=('norm', 'proj'))),
    decode_head=dict(num_classes=150),
    # ViT-Adapter's ADE20K evaluation: 512x512 sliding windows, stride 341
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(341, 341)))

# data
train_dataloader = dict(batch_size=4)
