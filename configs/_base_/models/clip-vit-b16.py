# OpenAI CLIP ViT-B/16 itself (the teacher of SF-B CLIP) as a zero-shot classifier: its frozen
# visual tower (sfmm.OpenCLIPTeacher) gives the image embedding, scored against class
# embeddings from its text tower. tools/test.py loads the visual tower from a file written by
# tools/model_converters/clip_to_sfmm.py (keys backbone.teacher.visual.*).
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='sfmm.TeacherBackbone',
        teacher=dict(type='sfmm.OpenCLIPTeacher', model_name='ViT-B-16',
                     checkpoint='checkpoints/clip/ViT-B-16_openai.bin')),
    neck=None,
    head=dict(
        type='sfmm.ZeroShotClsHead',
        model_name='ViT-B-16',
        checkpoint='checkpoints/clip/ViT-B-16_openai.bin'))
# distributed evaluation without DDP, which refuses a model with no trainable parameter
model_wrapper_cfg = dict(type='sfmm.EvalModelWrapper')
