"""Parameter schedulers (``PARAM_SCHEDULERS`` location); sfmm registers none yet."""
