# OpenAI CLIP ViT-B/16 itself (the teacher of SF-B CLIP) for zero-shot retrieval: its visual
# tower (sfmm.OpenCLIPTeacher, frozen) as the image encoder, its text tower for captions.
# tools/test.py loads the visual tower from a file written by
# tools/model_converters/clip_to_sfmm.py (keys backbone.teacher.visual.*).
model = dict(
    type='sfmm.CLIPRetriever',
    backbone=dict(
        type='sfmm.TeacherBackbone',
        teacher=dict(type='sfmm.OpenCLIPTeacher', model_name='ViT-B-16',
                     checkpoint='checkpoints/clip/ViT-B-16_openai.bin')),
    text_model_name='ViT-B-16',
    text_checkpoint='checkpoints/clip/ViT-B-16_openai.bin')
