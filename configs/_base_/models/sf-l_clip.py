# SparseFormer-L bootstrapped from OpenAI CLIP ViT-L/14: 63 latent tokens + [CLS] ("64 tokens",
# as the released SF-L CLIP and paper Table 6), cortex = CLIP visual blocks 8..23, final norm
# and projection (E = 768) inherited; the backbone's 'embed' output is the CLIP image
# embedding. Zero-shot classification scores it against class embeddings from CLIP's (frozen)
# text tower. Leaves with other token counts (128, 144) override num_latent_tokens.
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='sfmm.SparseFormer',
        arch='l-clip',
        num_latent_tokens=63,
        out_keys=('embed', )),
    neck=None,
    head=dict(
        type='sfmm.ZeroShotClsHead',
        model_name='ViT-L-14',
        checkpoint='checkpoints/clip/ViT-L-14_openai.bin'))
