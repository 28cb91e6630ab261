from .inference import backbone_outputs, inference_model, init_model, to_uint8_rgb

__all__ = ['init_model', 'inference_model', 'backbone_outputs', 'to_uint8_rgb']
