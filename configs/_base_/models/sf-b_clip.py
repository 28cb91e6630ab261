# SparseFormer-B bootstrapped from OpenAI CLIP ViT-B/16: 48 latent tokens + [CLS] ("49 tokens"),
# cortex = CLIP visual blocks 4..11, final norm and projection (E = 512) inherited; the
# backbone's 'embed' output is the CLIP image embedding. Zero-shot classification scores it
# against class embeddings from CLIP's (frozen) text tower.
# SF-L CLIP leaves override backbone.arch ('l-clip': cortex = CLIP ViT-L/14 blocks 8..23,
# E = 768), num_latent_tokens (63 latent + [CLS] = "64 tokens", as the released SF-L CLIP)
# and the text tower (head.text_encoder: ViT-L-14 model name and checkpoint).
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='sfmm.SparseFormer',
        arch='b-clip',
        num_latent_tokens=48,
        out_keys=('embed', ),
        cls_only_last_block=True),
    neck=None,
    head=dict(
        type='sfmm.ZeroShotClsHead',
        text_encoder=dict(
            type='sfmm.CLIPTextEncoder',
            model_name='ViT-B-16',
            init_cfg=dict(type='sfmm.Pretrained',
                          checkpoint='checkpoints/clip/ViT-B-16_openai.bin'))))
