"""Importing this package registers sfmm's runner (``sfmm.Runner``), hooks, optimizer
constructors, schedulers and the atomic checkpoint file backend."""
from . import fileio, hooks, optimizers, runner, schedulers  # noqa: F401
