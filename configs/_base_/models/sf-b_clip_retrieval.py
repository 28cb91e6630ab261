# SparseFormer-B bootstrapped from OpenAI CLIP ViT-B/16 (48 latent tokens + [CLS]) as the image
# encoder of zero-shot retrieval; captions go through CLIP ViT-B/16's frozen text tower.
# The checkpoint keys (backbone.*) are those of the bootstrap / classification configs.
model = dict(
    type='sfmm.CLIPRetriever',
    backbone=dict(
        type='sfmm.SparseFormer',
        arch='b-clip',
        num_latent_tokens=48,
        out_keys=('embed', )),
    text_model_name='ViT-B-16',
    text_checkpoint='checkpoints/clip/ViT-B-16_openai.bin')
