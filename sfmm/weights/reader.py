"""The one reader of checkpoint files: every format sfmm loads, opened safely.

:func:`read_checkpoint` opens

- ``.safetensors`` files (safetensors, the files on huggingface.co);
- ``.npz`` archives (NumPy, ``allow_pickle=False``; original AugReg / big_vision JAX weights);
- TorchScript archives (OpenAI's released CLIP ``.pt``), whose ``state_dict()`` is taken;
- every other local file (``.pth``, ``.pt``, ``.bin`` ...) with ``torch.load(weights_only=True)``
  plus the allow-list below;
- URIs (``scheme://...``) through mmengine's ``CheckpointLoader``, under the same allow-list;

and unwraps ``state_dict`` / ``model`` / ``module`` wrappers. A missing file raises
``FileNotFoundError`` and a corrupt, truncated or unsafe one ``RuntimeError``; both name the file.

The allow-list. torch 2.6 made ``torch.load(weights_only=True)`` the default. mmengine 0.10.7
writes more than tensors into its checkpoints (the message hub's
:class:`~mmengine.logging.HistoryBuffer` objects, NumPy arrays and scalars). Rather than turning
``weights_only`` off (which would unpickle arbitrary code), sfmm allow-lists exactly the types
that mmengine itself writes. The one callable such a checkpoint needs, ``builtins.getattr``
(HistoryBuffer stores its statistic methods as ``getattr(HistoryBuffer, 'mean')``), is replaced
by a guarded version that only resolves HistoryBuffer's own statistic methods.
"""
import os
import zipfile
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, List, Tuple, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

Tensor = torch.Tensor
SafeGlobal = Union[Callable, type, Tuple[Callable, str]]
#: Keys under which training frameworks nest a state dict (unwrapped in this order, repeatedly).
WRAPPER_KEYS = ('state_dict', 'model', 'module')

_registered = False
# HistoryBuffer registers these lazily (on first instantiation), so list them here too.
_DEFAULT_STATISTICS = frozenset({'min', 'max', 'current', 'mean'})


def _guarded_getattr(obj: Any, name: str) -> Any:
    """``getattr`` restricted to ``HistoryBuffer``'s registered statistic methods."""
    allowed = _DEFAULT_STATISTICS | set(getattr(HistoryBuffer, '_statistics_methods', {}))
    if obj is HistoryBuffer and isinstance(name, str) and name in allowed:
        return getattr(HistoryBuffer, name)
    raise torch.serialization.pickle.UnpicklingError(
        f'sfmm refuses getattr({obj!r}, {name!r}) while loading a checkpoint: only '
        'HistoryBuffer statistic methods are allowed')


def _numpy_core():
    # NumPy 2 moved numpy.core to numpy._core; pickles name whichever wrote them.
    return getattr(np, '_core', None) or np.core


def mmengine_safe_globals() -> List[SafeGlobal]:
    """The globals an mmengine checkpoint may reference, for ``weights_only`` loading.

    Returns:
        list: entries for :func:`torch.serialization.add_safe_globals`.
    """
    core = _numpy_core()
    entries: List[SafeGlobal] = [
        HistoryBuffer,
        np.ndarray,
        np.dtype,
        core.multiarray._reconstruct,
        core.multiarray.scalar,
        (_guarded_getattr, 'builtins.getattr'),
    ]
    # The same functions as pickled by NumPy 1.x (``numpy.core.multiarray``).
    for mod in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        entries.append((core.multiarray._reconstruct, f'{mod}._reconstruct'))
        entries.append((core.multiarray.scalar, f'{mod}.scalar'))
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        entries.extend(
            getattr(dtypes, name) for name in dir(dtypes) if name.endswith('DType'))
    return entries


def register_mmengine_safe_globals() -> None:
    """Allow-list mmengine's checkpoint contents for every ``torch.load`` call.

    Idempotent. Called by sfmm's tools, by :class:`sfmm.engine.hooks.CheckpointCompatHook`
    (in ``before_run``) and by ``import sfmm.timm`` (so that timm's own loader reads mmengine
    checkpoints); importing any other sfmm module never calls it. :func:`read_checkpoint`
    does not need it (it allow-lists for the duration of its own load).
    """
    global _registered
    if _registered:
        return
    torch.serialization.add_safe_globals(mmengine_safe_globals())
    _registered = True


@contextmanager
def mmengine_safe_globals_context() -> Iterator[None]:
    """Context manager form of :func:`register_mmengine_safe_globals`.

    On exit the allow-list is restored to exactly what it was on entry (torch's own
    ``safe_globals`` context would also drop entries that were registered before it).
    """
    before = list(torch.serialization.get_safe_globals())
    torch.serialization.add_safe_globals(mmengine_safe_globals())
    try:
        yield
    finally:
        torch.serialization.clear_safe_globals()
        torch.serialization.add_safe_globals(before)


def is_torchscript(path: str) -> bool:
    """Whether ``path`` is a TorchScript archive (OpenAI's CLIP ``.pt``), not a pickled dict."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as zf:
        return any(n.endswith('constants.pkl') or '/code/' in n for n in zf.namelist())


def _load_npz(path: str) -> Dict[str, Tensor]:
    with np.load(path, allow_pickle=False) as arrays:
        return {k: torch.from_numpy(np.array(arrays[k])) for k in arrays.files}


def _load_file(path: str, map_location: Union[str, torch.device]) -> Any:
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file
        device = map_location if isinstance(map_location, str) else str(map_location)
        return load_file(path, device=device)
    if path.endswith('.npz'):
        return _load_npz(path)
    if is_torchscript(path):
        return torch.jit.load(path, map_location=map_location).state_dict()
    with mmengine_safe_globals_context():
        return torch.load(path, map_location=map_location, weights_only=True)


def unwrap_state_dict(obj: Any, source: str = 'checkpoint') -> Dict[str, Tensor]:
    """The state dict inside a loaded checkpoint.

    Args:
        obj (Any): What :func:`read_checkpoint` loaded with ``unwrap=False``.
        source (str): The file, for error messages. Defaults to 'checkpoint'.

    Returns:
        dict[str, Tensor]: ``obj`` with every :data:`WRAPPER_KEYS` wrapper removed.

    Raises:
        TypeError: If what is left is not a dict of tensors (naming ``source``).
    """
    unwrapped = True
    while unwrapped and isinstance(obj, dict):
        unwrapped = False
        for key in WRAPPER_KEYS:
            if isinstance(obj.get(key), dict):
                obj, unwrapped = obj[key], True
                break
    if not isinstance(obj, dict):
        raise TypeError(f'{source} does not hold a state dict (got {type(obj).__name__})')
    bad = [k for k, v in obj.items() if not isinstance(v, Tensor)]
    if bad:
        raise TypeError(f'{source} does not hold a state dict: entries {bad[:10]} are not '
                        f'tensors')
    return dict(obj)


def read_checkpoint(path: str, map_location: Union[str, torch.device] = 'cpu',
                    unwrap: bool = True) -> Any:
    """Read any checkpoint file sfmm supports (see the module docstring), safely.

    Args:
        path (str): Local path (``~`` is expanded) or a URI mmengine can read.
        map_location (str | torch.device): Where tensors are loaded. Defaults to 'cpu'.
        unwrap (bool): Return the state dict (:func:`unwrap_state_dict`). False returns the
            whole loaded object (e.g. an mmengine checkpoint with ``meta`` and
            ``message_hub``). Defaults to True.

    Returns:
        dict: The state dict (name -> tensor), or the loaded object.

    Raises:
        FileNotFoundError: If a local ``path`` does not exist (the message names it).
        RuntimeError: If the file is corrupt, truncated or references a type outside the
            allow-list (the message names it).
        TypeError: If ``unwrap`` and the file holds no state dict.
    """
    path = os.fspath(path)
    if '://' in path:
        from mmengine.runner.checkpoint import CheckpointLoader
        try:
            with mmengine_safe_globals_context():
                obj = CheckpointLoader.load_checkpoint(path, map_location=map_location)
        except Exception as e:
            raise RuntimeError(f'cannot load checkpoint {path}: {type(e).__name__}: {e}') from e
    else:
        path = os.path.expanduser(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f'checkpoint file not found: {path}')
        try:
            obj = _load_file(path, map_location)
        except Exception as e:  # corrupt zip, truncated file, unknown global ...
            raise RuntimeError(f'cannot load checkpoint {path}: {type(e).__name__}: {e}') from e
    return unwrap_state_dict(obj, path) if unwrap else obj


__all__ = ['WRAPPER_KEYS', 'is_torchscript', 'mmengine_safe_globals',
           'mmengine_safe_globals_context', 'read_checkpoint', 'register_mmengine_safe_globals',
           'unwrap_state_dict']
