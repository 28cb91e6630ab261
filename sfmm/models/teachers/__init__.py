"""Frozen foundation-model teachers for bootstrapping (registered as ``sfmm.*Teacher``)."""
from .base_teacher import BaseTeacher
from .mmpretrain_vit_teacher import MMPretrainViTTeacher
from .open_clip_teacher import OpenCLIPTeacher
from .timm_vit_teacher import TimmViTTeacher

__all__ = ['BaseTeacher', 'MMPretrainViTTeacher', 'OpenCLIPTeacher', 'TimmViTTeacher']
