from .inference import inference_model, init_model, to_uint8_rgb
from .optimize import InferenceLinear, optimize_for_inference

__all__ = ['init_model', 'inference_model', 'to_uint8_rgb', 'optimize_for_inference',
           'InferenceLinear']
