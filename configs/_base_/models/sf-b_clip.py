# SparseFormer-B bootstrapped from OpenAI CLIP ViT-B/16: 48 latent tokens + [CLS] ("49 tokens"),
# cortex = CLIP visual blocks 4..11, final norm and projection (E = 512) inherited; the
# backbone's 'embed' output is the CLIP image embedding. Zero-shot classification scores it
# against class embeddings from CLIP's (frozen) text tower.
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='sfmm.SparseFormer',
        arch='b-clip',
        num_latent_tokens=48,
        out_keys=('embed', )),
    neck=None,
    head=dict(
        type='sfmm.ZeroShotClsHead',
        model_name='ViT-B-16',
        checkpoint='checkpoints/clip/ViT-B-16_openai.bin'))
