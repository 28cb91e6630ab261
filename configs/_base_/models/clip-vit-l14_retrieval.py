# OpenAI CLIP ViT-L/14 itself (the teacher of SF-L CLIP) for zero-shot retrieval: its visual
# tower (sfmm.OpenCLIPTeacher, frozen) as the image encoder, its text tower for captions.
# tools/test.py loads the visual tower from a file written by
# tools/model_converters/clip_to_sfmm.py (keys backbone.teacher.visual.*).
model = dict(
    type='sfmm.CLIPRetriever',
    backbone=dict(
        type='sfmm.TeacherBackbone',
        teacher=dict(type='sfmm.OpenCLIPTeacher', model_name='ViT-L-14',
                     checkpoint='checkpoints/clip/ViT-L-14_openai.bin')),
    text_model_name='ViT-L-14',
    text_checkpoint='checkpoints/clip/ViT-L-14_openai.bin')
