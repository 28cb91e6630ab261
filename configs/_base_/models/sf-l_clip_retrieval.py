# SparseFormer-L bootstrapped from OpenAI CLIP ViT-L/14 (63 latent tokens + [CLS], "64 tokens",
# as the released SF-L CLIP) as the image encoder of zero-shot retrieval; captions go through
# CLIP ViT-L/14's frozen text tower. Leaves with 128 or 144 tokens override num_latent_tokens.
# The checkpoint keys (backbone.*) are those of the bootstrap / classification configs.
model = dict(
    type='sfmm.CLIPRetriever',
    backbone=dict(
        type='sfmm.SparseFormer',
        arch='l-clip',
        num_latent_tokens=63,
        out_keys=('embed', )),
    text_model_name='ViT-L-14',
    text_checkpoint='checkpoints/clip/ViT-L-14_openai.bin')
