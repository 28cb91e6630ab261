# Bootstrapping SF-L from the OpenAI CLIP ViT-L/14 visual tower (24 blocks, QuickGELU):
# truncate the leading 8 blocks, cortex = blocks 8..23 (first 8 tunable), ln_post and the
# (1024 -> 768) projection inherited and frozen; the target is CLIP's image embedding.
# 63 latent tokens + [CLS] ("64 tokens", as the released SF-L CLIP).
# The checkpoint keys (backbone.*) are those of configs/_base_/models/sf-l_clip.py.
model = dict(
    type='sfmm.Bootstrapper',
    backbone=dict(type='sfmm.SparseFormer', arch='l-clip', num_latent_tokens=63,
                  out_keys=('embed', )),
    teacher=dict(
        type='sfmm.OpenCLIPTeacher',
        model_name='ViT-L-14',
        checkpoint='checkpoints/clip/ViT-L-14_openai.bin'),
    head=None,
    inherit=dict(truncate=8, reuse_blocks=True),
    num_tunable=8,
    align_loss=dict(type='sfmm.CosineAlignLoss'))
