"""Checkpoint key converters and weight-inheritance helpers."""
from .sparseformer_official import (convert_sparseformer_official, is_sparseformer_official,
                                    is_sparseformer_v1_official, official_key_map,
                                    official_v1_key_map)

__all__ = ['convert_sparseformer_official', 'is_sparseformer_official',
           'is_sparseformer_v1_official', 'official_key_map', 'official_v1_key_map']
