# OpenAI CLIP's input normalisation (x 255; open_clip's OPENAI_DATASET_MEAN / STD), the one place
# sfmm's configs read it from: the CLIP dataset bases set data_preprocessor.mean / std from this
# variable. It is a variable, not a data_preprocessor, so that it can sit beside a dataset base
# with its own preprocessor (imagenet_bootstrap_clip.py next to imagenet_bootstrap.py).
clip_normalize = dict(
    mean=[0.48145466 * 255, 0.4578275 * 255, 0.40821073 * 255],
    std=[0.26862954 * 255, 0.26130258 * 255, 0.27577711 * 255])
