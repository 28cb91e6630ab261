# Flickr30k 1k test split (Karpathy) for zero-shot image-text retrieval with OpenAI CLIP
# models: 1,000 images, 5,000 captions, from Karpathy's caption file (only the images with
# "split": "test"; the layout of mmpretrain's Flickr30kRetrieval, which needs mmpretrain's
# optional multimodal dependencies, so sfmm.CaptionRetrieval reads it):
#   data/flickr30k/annotations/dataset_flickr30k.json   {"images": [{"filename": ...,
#                                                        "split": ..., "sentences": [...]}]}
#   data/flickr30k/images/*.jpg
# Transform, loader and metric: caption_retrieval_clip.py.
_base_ = ['./caption_retrieval_clip.py']
data_root = 'data/flickr30k'

test_dataloader = dict(
    dataset=dict(data_root=data_root, ann_file='annotations/dataset_flickr30k.json',
                 data_prefix='images', split='test'))
val_dataloader = test_dataloader
