"""Loading mmengine checkpoints safely on torch >= 2.6.

torch 2.6 made ``torch.load(weights_only=True)`` the default. mmengine 0.10.7 calls
``torch.load`` without ``weights_only`` and writes more than tensors into its
checkpoints (the message hub's :class:`~mmengine.logging.HistoryBuffer` objects, NumPy
arrays and scalars), so ``--resume``, ``load_from`` and ``tools/test.py CONFIG CKPT``
all fail with an ``UnpicklingError``.

Rather than turning ``weights_only`` off (which would unpickle arbitrary code), sfmm
allow-lists exactly the types that mmengine itself writes. The one callable such a
checkpoint needs, ``builtins.getattr`` (HistoryBuffer stores its statistic methods as
``getattr(HistoryBuffer, 'mean')``), is replaced by a guarded version that only resolves
HistoryBuffer's own statistic methods and rejects everything else.
"""
import os
from contextlib import contextmanager
from typing import Any, Callable, Iterator, List, Tuple, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

SafeGlobal = Union[Callable, type, Tuple[Callable, str]]

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

    Idempotent. Called by sfmm's tools and by :class:`sfmm.engine.hooks.CheckpointCompatHook`
    (in ``before_run``, i.e. before the runner loads or resumes), never at import time.
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


def load_checkpoint_file(path: str, map_location: Union[str, torch.device] = 'cpu') -> Any:
    """Load a checkpoint file with ``weights_only=True`` plus mmengine's allow-list.

    Args:
        path (str): Path of a ``.pth`` file.
        map_location (str | torch.device): Passed to :func:`torch.load`. Defaults to 'cpu'.

    Returns:
        The unpickled object (usually a dict).

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        RuntimeError: If the file is corrupt or references a type outside the allow-list;
            the message names the file.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'checkpoint file not found: {path}')
    try:
        with mmengine_safe_globals_context():
            return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # corrupt zip, truncated file, unknown global ...
        raise RuntimeError(f'cannot load checkpoint {path}: {type(e).__name__}: {e}') from e
