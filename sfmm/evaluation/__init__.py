"""Importing this package registers sfmm's metrics."""
from . import metrics  # noqa: F401
