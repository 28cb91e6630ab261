"""Helpers of sfmm's tools: distributed setup, runner building, model building for analysis,
FLOPs. Checkpoint reading is :mod:`sfmm.weights`."""
