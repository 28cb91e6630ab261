"""sfmm.LoggerHook: the test-results json is written by rank 0 only."""
import json
import logging
from types import SimpleNamespace

import pytest

from sfmm.engine.hooks import LoggerHook
from sfmm.engine.hooks import logger_hook as module


def _runner(log_dir):
    tag = {'mIoU': 41.5, 'aAcc': 80.25}
    processor = SimpleNamespace(
        get_log_after_epoch=lambda runner, n, mode, with_non_scalar: (dict(tag), 'mIoU: 41.5'))
    runner = SimpleNamespace(log_processor=processor, test_dataloader=[0, 1, 2],
                             logger=logging.getLogger('sfmm-test-logger-hook'),
                             log_dir=str(log_dir))
    return runner, tag


@pytest.mark.parametrize('main', [True, False])
def test_test_json_only_on_the_main_process(tmp_path, monkeypatch, main):
    monkeypatch.setattr(module, 'is_main_process', lambda: main)
    hook = LoggerHook()
    hook.json_log_path = 'run.json'  # set by before_run from the runner's timestamp
    runner, tag = _runner(tmp_path)
    hook.after_test_epoch(runner)
    path = tmp_path / 'run.json'
    assert path.exists() == main
    if main:
        assert json.loads(path.read_text()) == tag


def test_registered_for_configs():
    from mmengine.registry import HOOKS
    assert HOOKS.build(dict(type='sfmm.LoggerHook', interval=5)).interval == 5
