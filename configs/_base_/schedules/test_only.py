# Evaluation-only loops: these configs test released or bootstrapped weights; they do not train.
val_cfg = dict()
test_cfg = dict()
