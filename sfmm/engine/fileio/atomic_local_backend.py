"""A local file backend whose writes are atomic (temp file + rename), for checkpoints."""
import os
import os.path as osp
import tempfile
from pathlib import Path
from typing import Union

from mmengine.fileio import LocalBackend, register_backend


def _atomic_write(data: Union[bytes, str], filepath: Union[str, Path], mode: str,
                  encoding: str = None) -> None:
    filepath = os.fspath(filepath)
    directory = osp.dirname(osp.abspath(filepath))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.' + osp.basename(filepath) + '.', suffix='.tmp',
                               dir=directory)
    try:
        with os.fdopen(fd, mode, encoding=encoding) as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)  # atomic on POSIX and Windows
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


@register_backend('sfmm_atomic_local')
class AtomicLocalBackend(LocalBackend):
    """Local storage whose writes are atomic: write a temp file, fsync, rename.

    A crash (or SIGKILL) while a checkpoint is being saved leaves either the old file or
    the complete new one, never a truncated checkpoint, and ``last_checkpoint`` always
    names a complete file. sfmm's runtime bases select it for the CheckpointHook with
    ``backend_args=dict(backend='sfmm_atomic_local')``; reads are ``LocalBackend``'s.
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        _atomic_write(obj, filepath, 'wb')

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = 'utf-8') -> None:
        _atomic_write(obj, filepath, 'w', encoding=encoding)
