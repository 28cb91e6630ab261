# MS COCO 5k test split (Karpathy) for zero-shot image-text retrieval with OpenAI CLIP models:
# 5,000 val2014 images, 25,010 captions, read from the BLIP/clip_benchmark caption file
#   data/coco/annotations/coco_karpathy_test.json   [{"image": "val2014/COCO_val2014_....jpg",
#                                                     "caption": [...]}, ...]
#   data/coco/val2014/*.jpg
# (Karpathy's dataset_coco.json with split='test' reads the same way.) Transform, loader and
# metric: caption_retrieval_clip.py.
_base_ = ['./caption_retrieval_clip.py']
data_root = 'data/coco'

test_dataloader = dict(
    dataset=dict(data_root=data_root, ann_file='annotations/coco_karpathy_test.json',
                 data_prefix=''))
val_dataloader = test_dataloader
