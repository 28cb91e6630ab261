# Evaluation-only retrieval loops (mmpretrain): embed every image and caption of the set,
# then rank all captions per image (i2t) and all images per caption (t2i).
val_cfg = dict(type='RetrievalValLoop')
test_cfg = dict(type='RetrievalTestLoop')
# distributed evaluation needs no DDP (and DDP refuses fully frozen models, e.g. CLIP teachers)
model_wrapper_cfg = dict(type='sfmm.EvalModelWrapper')
