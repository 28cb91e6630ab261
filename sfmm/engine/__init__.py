"""Importing this package registers sfmm's hooks, optimizer constructors, schedulers and
the atomic checkpoint file backend."""
from . import fileio, hooks, optimizers, schedulers  # noqa: F401
