"""sfmm.weights.read_checkpoint: every format, safely, and errors that name the file."""
import os
import pickle

import pytest
import torch
import torch.nn as nn
from mmengine.logging import HistoryBuffer, MessageHub

from sfmm.weights import mmengine_safe_globals_context, read_checkpoint, unwrap_state_dict
from sfmm.weights.reader import _guarded_getattr


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
    ckpt = read_checkpoint(path, unwrap=False)
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
        read_checkpoint(path)
    assert not os.path.exists(marker)


def test_guarded_getattr_only_allows_history_buffer_statistics():
    assert _guarded_getattr(HistoryBuffer, 'mean') is HistoryBuffer.mean
    with pytest.raises(pickle.UnpicklingError):
        _guarded_getattr(os, 'system')
    with pytest.raises(pickle.UnpicklingError):
        _guarded_getattr(HistoryBuffer, '__init__')


def test_missing_and_corrupt_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        read_checkpoint(str(tmp_path / 'nope.pth'))
    bad = tmp_path / 'corrupt.pth'
    good = tmp_path / 'good.pth'
    torch.save({'w': torch.zeros(3)}, good)
    bad.write_bytes(good.read_bytes()[:40])
    with pytest.raises(RuntimeError, match='corrupt.pth'):
        read_checkpoint(str(bad))


def test_context_keeps_globally_registered_entries(tmp_path):
    from sfmm.weights import register_mmengine_safe_globals
    path = str(tmp_path / 'ckpt.pth')
    _save_runner_like_checkpoint(path)
    before = list(torch.serialization.get_safe_globals())
    with mmengine_safe_globals_context():
        assert HistoryBuffer in torch.serialization.get_safe_globals()
    assert set(torch.serialization.get_safe_globals()) == set(before)  # order is not kept
    register_mmengine_safe_globals()
    read_checkpoint(path)
    # the global registration survives a context-managed load
    assert HistoryBuffer in torch.serialization.get_safe_globals()
    assert torch.load(path)['meta']['epoch'] == 1


def test_every_format_reads_to_the_same_state_dict(tmp_path):
    import numpy as np
    from safetensors.torch import save_file
    model = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4))
    state = model.state_dict()
    torch.save(dict(meta=dict(), state_dict=state), tmp_path / 'runner.pth')
    torch.save({'model': state}, tmp_path / 'wrapped.pt')
    torch.save({'state_dict': {'module': state}}, tmp_path / 'nested.bin')
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / 'w.safetensors'))
    np.savez(tmp_path / 'w.npz', **{k: v.numpy() for k, v in state.items()})
    torch.jit.trace(model, torch.randn(1, 3)).save(str(tmp_path / 'script.pt'))
    for name in ('runner.pth', 'wrapped.pt', 'nested.bin', 'w.safetensors', 'w.npz',
                 'script.pt'):
        got = read_checkpoint(str(tmp_path / name))
        assert set(got) == set(state), name
        for k, v in state.items():
            assert torch.equal(got[k], v), (name, k)
    # "~" is expanded; the whole runner checkpoint on request
    assert 'meta' in read_checkpoint(str(tmp_path / 'runner.pth'), unwrap=False)


def test_non_state_dicts_and_truncated_formats_are_named(tmp_path):
    torch.save(dict(meta=dict(epoch=1), weights=[1, 2]), tmp_path / 'odd.pth')
    with pytest.raises(TypeError, match=r'odd\.pth does not hold a state dict'):
        read_checkpoint(str(tmp_path / 'odd.pth'))
    with pytest.raises(TypeError, match='list'):
        unwrap_state_dict([1, 2], 'x.pth')
    from safetensors.torch import save_file
    save_file({'w': torch.zeros(64)}, str(tmp_path / 'w.safetensors'))
    data = (tmp_path / 'w.safetensors').read_bytes()
    (tmp_path / 'cut.safetensors').write_bytes(data[:len(data) - 16])
    with pytest.raises(RuntimeError, match=r'cut\.safetensors'):
        read_checkpoint(str(tmp_path / 'cut.safetensors'))
    (tmp_path / 'cut.npz').write_bytes(b'PK\x03\x04 not really a zip')
    with pytest.raises(RuntimeError, match=r'cut\.npz'):
        read_checkpoint(str(tmp_path / 'cut.npz'))
