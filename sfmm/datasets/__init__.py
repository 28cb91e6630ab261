"""Importing this package registers sfmm's datasets and transforms."""
from . import transforms  # noqa: F401
