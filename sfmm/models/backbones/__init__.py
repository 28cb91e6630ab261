"""SparseFormer backbones (registered in ``sfmm.registry.MODELS``)."""
from .sparseformer import SparseFormer
from .sparseformer_v1 import SparseFormerV1
from .teacher_backbone import TeacherBackbone

__all__ = ['SparseFormer', 'SparseFormerV1', 'TeacherBackbone']
