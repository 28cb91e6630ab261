"""Importing this package registers sfmm's models (backbones, heads, algorithms ...)."""
from . import algorithms, backbones, decode_heads, heads, losses, necks  # noqa: F401
