# Table 3 at demo scale (tools/demo_compare.py): bootstrapping "without reusing weights": the
# cortex blocks and final norm start from random weights and are all trained; only the
# classifier is inherited (frozen), and the same teacher, loss, data and schedule are used.
_base_ = ['./sf-demo_vit-demo-fashion.py']
model = dict(inherit=dict(truncate=2, reuse_blocks=False), num_tunable=None)
