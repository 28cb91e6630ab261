# OpenAI CLIP ViT-B/16 itself (the teacher of SF-B CLIP) as a zero-shot classifier: its frozen
# visual tower (sfmm.OpenCLIPTeacher) gives the image embedding, scored against class
# embeddings from its text tower. tools/test.py loads the visual tower from a file written by
# tools/model_converters/clip_to_sfmm.py (keys backbone.teacher.visual.*). Leaves for the
# other CLIPs (ViT-B/32, ViT-L/14, ViT-L/14-336) override the model name and checkpoint of
# both towers (backbone.teacher, head.text_encoder).
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='sfmm.TeacherBackbone',
        teacher=dict(type='sfmm.OpenCLIPTeacher', model_name='ViT-B-16',
                     init_cfg=dict(type='sfmm.Pretrained',
                                   checkpoint='checkpoints/clip/ViT-B-16_openai.bin'))),
    neck=None,
    head=dict(
        type='sfmm.ZeroShotClsHead',
        text_encoder=dict(
            type='sfmm.CLIPTextEncoder',
            model_name='ViT-B-16',
            init_cfg=dict(type='sfmm.Pretrained',
                          checkpoint='checkpoints/clip/ViT-B-16_openai.bin'))))
# distributed evaluation without DDP, which refuses a model with no trainable parameter
model_wrapper_cfg = dict(type='sfmm.EvalModelWrapper')
