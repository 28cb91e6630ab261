# SparseFormer-B bootstrapped from OpenAI CLIP ViT-B/16 (48 latent tokens + [CLS]) as the image
# encoder of zero-shot retrieval; captions go through CLIP ViT-B/16's frozen text tower.
# The checkpoint keys (backbone.*) are those of the bootstrap / classification configs.
# SF-L CLIP leaves override backbone.arch ('l-clip'), num_latent_tokens (63 latent + [CLS] =
# "64 tokens", as the released SF-L CLIP) and the text tower (ViT-L-14 model name, checkpoint).
model = dict(
    type='sfmm.CLIPRetriever',
    backbone=dict(
        type='sfmm.SparseFormer',
        arch='b-clip',
        num_latent_tokens=48,
        out_keys=('embed', ),
        cls_only_last_block=True),
    text_encoder=dict(
        type='sfmm.CLIPTextEncoder',
        model_name='ViT-B-16',
        init_cfg=dict(type='sfmm.Pretrained', checkpoint='checkpoints/clip/ViT-B-16_openai.bin')))
