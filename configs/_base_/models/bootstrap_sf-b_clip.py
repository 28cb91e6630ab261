# Bootstrapping SF-B from the OpenAI CLIP ViT-B/16 visual tower (12 blocks, QuickGELU): truncate
# the leading 4 blocks, cortex = blocks 4..11 (first 4 tunable), ln_post and the (768 -> 512)
# projection inherited and frozen; the target is CLIP's image embedding. No classifier head.
# The checkpoint keys (backbone.*) are those of configs/_base_/models/sf-b_clip.py.
# SF-L CLIP (configs/bootstrap/sf-l_clip.py) overrides backbone.arch ('l-clip'),
# num_latent_tokens (63), the teacher (ViT-L/14), inherit.truncate and num_tunable (8 of 24).
model = dict(
    type='sfmm.Bootstrapper',
    backbone=dict(type='sfmm.SparseFormer', arch='b-clip', num_latent_tokens=48,
                  out_keys=('embed', ), cls_only_last_block=True),
    teacher=dict(
        type='sfmm.OpenCLIPTeacher',
        model_name='ViT-B-16',
        init_cfg=dict(type='sfmm.Pretrained', checkpoint='checkpoints/clip/ViT-B-16_openai.bin')),
    head=None,
    inherit=dict(truncate=4, reuse_blocks=True),
    num_tunable=4,
    align_loss=dict(type='sfmm.CosineAlignLoss'))
