# SparseFormer-L bootstrapped from OpenAI CLIP ViT-L/14 (48 latent tokens + [CLS]) as the image
# encoder of zero-shot retrieval; captions go through CLIP ViT-L/14's frozen text tower.
# The checkpoint keys (backbone.*) are those of the bootstrap / classification configs.
model = dict(
    type='sfmm.CLIPRetriever',
    backbone=dict(
        type='sfmm.SparseFormer',
        arch='l-clip',
        num_latent_tokens=48,
        out_keys=('embed', )),
    text_model_name='ViT-L-14',
    text_checkpoint='checkpoints/clip/ViT-L-14_openai.bin')
