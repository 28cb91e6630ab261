# OpenAI CLIP ViT-B/16 itself (the teacher of SF-B CLIP) for zero-shot retrieval: its visual
# tower (sfmm.OpenCLIPTeacher, frozen) as the image encoder, its text tower for captions.
# tools/test.py loads the visual tower from a file written by
# tools/model_converters/clip_to_sfmm.py (keys backbone.teacher.visual.*). Leaves for the
# other CLIPs (ViT-B/32, ViT-L/14, ViT-L/14-336) override the model name and checkpoint of
# both towers (backbone.teacher, text_encoder).
model = dict(
    type='sfmm.CLIPRetriever',
    backbone=dict(
        type='sfmm.TeacherBackbone',
        teacher=dict(type='sfmm.OpenCLIPTeacher', model_name='ViT-B-16',
                     init_cfg=dict(type='sfmm.Pretrained',
                                   checkpoint='checkpoints/clip/ViT-B-16_openai.bin'))),
    text_encoder=dict(
        type='sfmm.CLIPTextEncoder',
        model_name='ViT-B-16',
        init_cfg=dict(type='sfmm.Pretrained', checkpoint='checkpoints/clip/ViT-B-16_openai.bin')))
