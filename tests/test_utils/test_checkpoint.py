import os
import pickle

import pytest
import torch
import torch.nn as nn
from mmengine.logging import HistoryBuffer, MessageHub

from sfmm.utils.checkpoint import (_guarded_getattr, load_checkpoint_file,
                                   mmengine_safe_globals_context)


def _save_runner_like_checkpoint(path):
    """What mmengine's CheckpointHook writes: weights + meta + message hub state."""
    hub = MessageHub.get_instance('sfmm_test_ckpt')
    for v in (1.0, 2.0, 4.0):
        hub.update_scalar('train/loss', v)
    hub.update_info('epoch_np', __import__('numpy').float64(3.0))
    model = nn.Linear(2, 2)
    ckpt = dict(
        meta=dict(epoch=1, iter=2, seed=0, dataset_meta=dict(classes=('a', 'b'))),
        state_dict=model.state_dict(),
        message_hub=hub.state_dict(),
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9).state_dict(),
        param_schedulers=[dict(last_step=2, base_lrs=[0.1])])
    torch.save(ckpt, path)
    return model


class _Evil:

    def __reduce__(self):
        return (os.system, ('touch /tmp/sfmm_pwned_by_checkpoint',))


def test_plain_torch_load_rejects_mmengine_checkpoint(tmp_path):
    # The problem this module fixes: torch>=2.6 refuses what mmengine writes.
    path = str(tmp_path / 'ckpt.pth')
    _save_runner_like_checkpoint(path)
    registered = list(torch.serialization.get_safe_globals())  # other tests may register
    torch.serialization.clear_safe_globals()
    try:
        with pytest.raises(pickle.UnpicklingError):
            torch.load(path)
    finally:
        torch.serialization.add_safe_globals(registered)


def test_load_checkpoint_file_restores_message_hub(tmp_path):
    path = str(tmp_path / 'ckpt.pth')
    model = _save_runner_like_checkpoint(path)
    ckpt = load_checkpoint_file(path)
    buf = ckpt['message_hub']['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer)
    assert buf.mean() == pytest.approx(7.0 / 3)
    assert buf.statistics('max') == 4.0
    assert float(ckpt['message_hub']['runtime_info']['epoch_np']) == 3.0
    for k, v in model.state_dict().items():
        assert torch.equal(ckpt['state_dict'][k], v)


def test_mmengine_load_paths_work_inside_context(tmp_path):
    from mmengine.runner.checkpoint import _load_checkpoint
    path = str(tmp_path / 'ckpt.pth')
    _save_runner_like_checkpoint(path)
    with mmengine_safe_globals_context():
        ckpt = _load_checkpoint(path, map_location='cpu')
    assert ckpt['meta']['epoch'] == 1


def test_arbitrary_objects_are_still_rejected(tmp_path):
    marker = '/tmp/sfmm_pwned_by_checkpoint'
    if os.path.exists(marker):
        os.remove(marker)
    path = str(tmp_path / 'evil.pth')
    torch.save(dict(state_dict={}, payload=_Evil()), path)
    with pytest.raises(RuntimeError, match='evil.pth'):
        load_checkpoint_file(path)
    assert not os.path.exists(marker)


def test_guarded_getattr_only_allows_history_buffer_statistics():
    assert _guarded_getattr(HistoryBuffer, 'mean') is HistoryBuffer.mean
    with pytest.raises(pickle.UnpicklingError):
        _guarded_getattr(os, 'system')
    with pytest.raises(pickle.UnpicklingError):
        _guarded_getattr(HistoryBuffer, '__init__')


def test_missing_and_corrupt_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_checkpoint_file(str(tmp_path / 'nope.pth'))
    bad = tmp_path / 'corrupt.pth'
    good = tmp_path / 'good.pth'
    torch.save({'w': torch.zeros(3)}, good)
    bad.write_bytes(good.read_bytes()[:40])
    with pytest.raises(RuntimeError, match='corrupt.pth'):
        load_checkpoint_file(str(bad))


def test_context_keeps_globally_registered_entries(tmp_path):
    from sfmm.utils.checkpoint import register_mmengine_safe_globals
    path = str(tmp_path / 'ckpt.pth')
    _save_runner_like_checkpoint(path)
    before = list(torch.serialization.get_safe_globals())
    with mmengine_safe_globals_context():
        assert HistoryBuffer in torch.serialization.get_safe_globals()
    assert set(torch.serialization.get_safe_globals()) == set(before)  # order is not kept
    register_mmengine_safe_globals()
    load_checkpoint_file(path)
    # the global registration survives a context-managed load
    assert HistoryBuffer in torch.serialization.get_safe_globals()
    assert torch.load(path)['meta']['epoch'] == 1
