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
# load mmengine checkpoints on torch >= 2.6; stop on a NaN/Inf loss (see sfmm.engine.hooks).
# mmengine replaces lists wholesale, so a leaf that adds a hook extends this list by name:
#   custom_hooks = _base_.runtime_hooks + [dict(type='sfmm.WarmupFreezeHook', unfreeze_at=1)]
runtime_hooks = [dict(type='sfmm.CheckpointCompatHook'), dict(type='sfmm.NonFiniteLossHook')]
custom_hooks = runtime_hooks

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)
log_processor = dict(by_epoch=True, window_size=50)
log_level = 'INFO'

# sfmm.Runner: load_from / --resume load strictly through sfmm.weights
runner_type = 'sfmm.Runner'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
