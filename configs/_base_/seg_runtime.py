# Runtime of sfmm's segmentation configs (host library: mmsegmentation 1.x).
default_scope = 'mmseg'
custom_imports = dict(imports=['sfmm.models', 'sfmm.engine'], allow_failed_imports=False)

env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))
# load mmengine checkpoints on torch >= 2.6; stop on a NaN/Inf loss (see sfmm.engine.hooks).
# The same list as default_runtime.py (the two runtimes share no base: a common one would
# collide with the schedules' default_hooks); a leaf adding a hook extends `runtime_hooks`.
runtime_hooks = [dict(type='sfmm.CheckpointCompatHook'), dict(type='sfmm.NonFiniteLossHook')]
custom_hooks = runtime_hooks

vis_backends = [dict(type='LocalVisBackend')]
# no fixed `name`: each runner gets its own visualizer instance (named after the experiment),
# so a test run after a training run in one process saves to its own --show-dir
visualizer = dict(type='SegLocalVisualizer', vis_backends=vis_backends)
log_processor = dict(by_epoch=False)
log_level = 'INFO'
# sfmm.Runner: load_from / --resume load strictly through sfmm.weights
runner_type = 'sfmm.Runner'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)

tta_model = dict(type='SegTTAModel')
