# Runtime shared by sfmm's classification and bootstrap configs (host library: mmpretrain).
default_scope = 'mmpretrain'
custom_imports = dict(imports=['sfmm.models', 'sfmm.engine'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='sfmm.LoggerHook', interval=100),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # atomic writes: a crash while saving never leaves a truncated checkpoint
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3,
                    backend_args=dict(backend='sfmm_atomic_local')),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False))
# load mmengine checkpoints on torch >= 2.6; stop on a NaN/Inf loss (see sfmm.engine.hooks)
custom_hooks = [dict(type='sfmm.CheckpointCompatHook'), dict(type='sfmm.NonFiniteLossHook')]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)
log_processor = dict(by_epoch=True, window_size=50)
log_level = 'INFO'

load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
