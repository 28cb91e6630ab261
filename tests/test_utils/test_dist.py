"""sfmm.utils.dist: CPU process groups for tools/train.py and tools/test.py."""
import pytest
import torch.distributed as dist
from mmengine.config import Config

from conftest import free_port
from sfmm.utils.dist import close_distributed, setup_cpu_distributed


def test_close_distributed_destroys_the_group_once():
    assert not dist.is_initialized()
    assert close_distributed() is False  # nothing to close
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{free_port()}',
                            rank=0, world_size=1)
    try:
        assert close_distributed() is True
        assert not dist.is_initialized()
        assert close_distributed() is False
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def test_setup_cpu_distributed_only_for_a_launcher(monkeypatch):
    cfg = Config(dict(launcher='none'))
    assert setup_cpu_distributed(cfg) is False
    assert 'model_wrapper_cfg' not in cfg
    monkeypatch.setattr('torch.cuda.is_available', lambda: False)
    with pytest.raises(ValueError, match='--launcher slurm'):
        setup_cpu_distributed(Config(dict(launcher='slurm')))
