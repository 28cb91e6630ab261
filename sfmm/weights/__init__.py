"""sfmm's weights layer: the one way weights reach a model.

- One reader (:func:`read_checkpoint`) opens any checkpoint file safely and unwraps it.
- Small, named steps (:mod:`sfmm.weights.steps`) transform state dicts.
- :func:`load_strict` puts a state dict into a module with every key matched.
- Each model receives its weights one documented way:

  * a module's own file: ``init_cfg=dict(type='sfmm.Pretrained', checkpoint=...)``
    (:class:`PretrainedInit` -> :func:`load_pretrained`, with the module's optional
    ``checkpoint_filter_fn``);
  * one module's weights from another (teacher -> student): the algorithm's
    ``init_weights`` (``sfmm.Bootstrapper``, :func:`steps.inherit_from_teacher`);
  * a whole trained model: the runner's ``load_from`` / ``--resume`` through
    ``sfmm.Runner`` (:func:`load_model_state`), and :func:`sfmm.apis.init_model`.

Importing this package imports no model (steps import key-map tables when they run), and no
backbone imports it.
"""
from . import steps
from .initializer import PretrainedInit
from .load import (LoadRecord, load_model_checkpoint, load_model_state, load_pretrained,
                   load_strict, record_loads)
from .parts import exclude_from_parent_state_dict, init_unsaved_parts
from .reader import (WRAPPER_KEYS, is_torchscript, mmengine_safe_globals,
                     mmengine_safe_globals_context, read_checkpoint,
                     register_mmengine_safe_globals, unwrap_state_dict)

__all__ = ['LoadRecord', 'PretrainedInit', 'WRAPPER_KEYS', 'exclude_from_parent_state_dict',
           'init_unsaved_parts', 'is_torchscript', 'load_model_checkpoint', 'load_model_state',
           'load_pretrained', 'load_strict', 'mmengine_safe_globals',
           'mmengine_safe_globals_context', 'read_checkpoint', 'record_loads',
           'register_mmengine_safe_globals', 'steps', 'unwrap_state_dict']
