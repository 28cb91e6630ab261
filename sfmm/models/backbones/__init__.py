"""SparseFormer backbones (registered in ``sfmm.registry.MODELS``)."""
from .sparseformer import SparseFormer
from .teacher_backbone import TeacherBackbone

__all__ = ['SparseFormer', 'TeacherBackbone']
