"""Importing this package registers sfmm's models (backbones, heads, teachers ...)."""
from . import (algorithms, backbones, decode_heads, heads, losses,  # noqa: F401
               necks, teachers, text_encoders)
