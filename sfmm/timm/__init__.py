"""``import sfmm.timm`` registers sfmm's SparseFormers in timm's model registry.

Registering is what importing this package is for (the one sfmm module whose import has
effects, as a timm model module's has): afterwards ``timm.list_models('sparseformer*')``
lists the entrypoints of :mod:`sfmm.timm.sparseformer` and ``timm.create_model`` builds them
without mmengine runners or config files::

    import timm
    import sfmm.timm  # noqa: F401

    model = timm.create_model('sparseformer_b_augreg_49', pretrained=True,
                              pretrained_cfg_overlay=dict(file='sf-b_augreg_in1k.pth'))
    transform = timm.data.create_transform(**timm.data.resolve_data_config({}, model=model))

The import also allow-lists what mmengine writes into its checkpoints
(:func:`sfmm.weights.register_mmengine_safe_globals`: ``HistoryBuffer``, NumPy arrays and
scalars, a ``getattr`` restricted to ``HistoryBuffer``'s statistics) for every
``torch.load(weights_only=True)``, so that timm's own loader reads a checkpoint saved by an
mmengine runner (``tools/train.py``) as it is; arbitrary pickles are still refused.
"""
from sfmm.weights import register_mmengine_safe_globals

from .sparseformer import (BACKBONES, KEY_MAP, MODEL_NAMES, SparseFormerTimm,
                           checkpoint_filter_fn)

register_mmengine_safe_globals()

__all__ = ['BACKBONES', 'KEY_MAP', 'MODEL_NAMES', 'SparseFormerTimm', 'checkpoint_filter_fn']
