"""Distributed runs on machines without CUDA (gloo), for tools/train.py and tools/test.py."""
import torch
import torch.distributed as dist
from mmengine.config import Config, ConfigDict


def setup_cpu_distributed(cfg: Config) -> bool:
    """Make a ``--launcher pytorch`` run work on CPU-only machines.

    mmengine 0.10.7 assumes a GPU per rank when distributed: ``init_dist`` calls
    ``torch.cuda.set_device`` and the DDP wrapper gets ``device_ids=[LOCAL_RANK]``. When no
    CUDA device exists this initialises the default process group with ``gloo`` from the
    torchrun environment (mmengine then skips its own initialisation) and wraps the model
    with ``device_ids=None``, as DDP requires for CPU modules. GPU runs are untouched.

    Args:
        cfg (Config): The merged config; ``cfg.launcher`` is read and
            ``cfg.env_cfg`` / ``cfg.model_wrapper_cfg`` are updated in place.

    Returns:
        bool: Whether a CPU process group was set up.
    """
    launcher = cfg.get('launcher', 'none')
    if launcher == 'none' or torch.cuda.is_available():
        return False
    if launcher != 'pytorch':
        raise ValueError(f'CPU-only distributed runs need --launcher pytorch (torchrun); '
                         f'got --launcher {launcher}')
    env_cfg = cfg.setdefault('env_cfg', ConfigDict())
    env_cfg.setdefault('dist_cfg', ConfigDict())['backend'] = 'gloo'
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    wrapper = cfg.get('model_wrapper_cfg', None)
    if wrapper is None:
        wrapper = ConfigDict(type='MMDistributedDataParallel',
                             find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper.setdefault('device_ids', None)
    cfg.model_wrapper_cfg = wrapper
    return True


def close_distributed() -> bool:
    """Tear down the default process group after a finished run, if there is one.

    mmengine's runner leaves the process group alive until the interpreter exits; gloo's
    background threads can then be destroyed while still joinable, which aborts a rank
    ("terminate called without an active exception") and fails the launch after the work
    is done. Call this only after a successful ``train()`` / ``test()``: the barrier waits
    for every rank.

    Returns:
        bool: Whether a process group was destroyed.
    """
    if not (dist.is_available() and dist.is_initialized()):
        return False
    dist.barrier()
    dist.destroy_process_group()
    return True
