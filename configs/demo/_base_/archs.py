# Sizes shared by the demo's teacher, student and comparison configs.
# Teacher: a small mmpretrain ViT at 64x64 with 8x8 patches (64 patch tokens + [CLS]), width
# 128, 6 blocks, 2 heads; LayerNorm eps 1e-6 (mmpretrain's default).
# Student: a SparseFormer with 15 latent tokens + [CLS] = 16 tokens (1/4 of the teacher's 64
# patch tokens), focusing width 64, 16-channel early convolution, 16 sampling points per token,
# and a cortex of 4 blocks of width 128: the teacher's blocks 2..5 (the leading third, blocks
# 0..1, is truncated).
num_classes = 8
img_size = 64
vit_arch = dict(embed_dims=128, num_layers=6, num_heads=2, feedforward_channels=512)
sf_backbone = dict(
    type='sfmm.SparseFormer',
    arch=dict(focus_dims=64, embed_dims=128, num_layers=4, num_heads=2, mlp_ratio=4,
              act='gelu', proj_dims=None),
    num_latent_tokens=15,
    num_points=16,
    conv_channels=16,
    focus_repeats=4,
    mixing_hidden_dims=64,
    ln_eps=1e-6,
    out_keys=('embed', ),
    cls_only_last_block=True)
