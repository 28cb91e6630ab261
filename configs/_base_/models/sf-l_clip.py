# SparseFormer-L bootstrapped from OpenAI CLIP ViT-L/14: 48 latent tokens + [CLS] ("49 tokens"),
# cortex = CLIP visual blocks 8..23, final norm and projection (E = 768) inherited; the
# backbone's 'embed' output is the CLIP image embedding. Zero-shot classification scores it
# against class embeddings from CLIP's (frozen) text tower.
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='sfmm.SparseFormer',
        arch='l-clip',
        num_latent_tokens=48,
        out_keys=('embed', )),
    neck=None,
    head=dict(
        type='sfmm.ZeroShotClsHead',
        model_name='ViT-L-14',
        checkpoint='checkpoints/clip/ViT-L-14_openai.bin'))
