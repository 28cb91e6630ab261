"""Frozen text encoders (registered as ``sfmm.*TextEncoder``), shared by the zero-shot head and
the retriever."""
from .clip_text_encoder import CLIPTextEncoder

__all__ = ['CLIPTextEncoder']
