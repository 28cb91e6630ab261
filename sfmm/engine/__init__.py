"""Importing this package registers sfmm's hooks, optimizer constructors and schedulers."""
from . import hooks, optimizers, schedulers  # noqa: F401
