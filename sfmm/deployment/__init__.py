"""Deployment: ONNX export of sfmm image models and an ONNX Runtime runner.

Importing this package imports neither ``onnx`` nor ``onnxruntime`` (they are the optional
requirements in requirements/deploy.txt); the functions import them when called.
"""
from .onnx import (MIN_OPSET, TASKS, OnnxRuntimeModule, build_export_model, check_opset,
                   compare_outputs, detect_task, export_onnx, wrap_for_export)

__all__ = ['MIN_OPSET', 'TASKS', 'OnnxRuntimeModule', 'build_export_model', 'check_opset',
           'compare_outputs', 'detect_task', 'export_onnx', 'wrap_for_export']
