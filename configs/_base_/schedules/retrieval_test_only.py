# Evaluation-only retrieval loops (mmpretrain): embed every image and caption of the set,
# then rank all captions per image (i2t) and all images per caption (t2i).
val_cfg = dict(type='RetrievalValLoop')
test_cfg = dict(type='RetrievalTestLoop')
