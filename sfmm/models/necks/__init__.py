"""Necks between backbone and head (``MODELS`` location); sfmm registers none yet."""
