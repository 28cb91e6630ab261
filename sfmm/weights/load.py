"""Strict loading: a module gets a state dict only if every key matches, and the load is recorded.

- :func:`load_strict` is the one place where a state dict enters a module.
- :func:`load_pretrained` reads a module's own file and runs it through the steps
  (:mod:`sfmm.weights.steps`); the ``sfmm.Pretrained`` initializer calls it.
- :func:`load_model_checkpoint` loads a runner checkpoint into a whole model (``load_from``,
  ``--resume``, :func:`sfmm.apis.init_model`).
- :func:`record_loads` collects a :class:`LoadRecord` per load, for tests and logs.
"""
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.logging import print_log
from torch import nn

from . import steps
from .reader import read_checkpoint, unwrap_state_dict

Tensor = torch.Tensor


@dataclass
class LoadRecord:
    """One load through the weights layer.

    Args:
        module (str): Class name of the module loaded into.
        source (str): Where the tensors came from (a file, or e.g. a teacher).
        strict (bool): Always True: every key of the module was matched (or explicitly
            allowed to keep its value).
        loaded (int): Number of tensors loaded.
        kept (list[str]): Keys allowed to be missing, which kept their values.
        notes (list[str]): What the steps did (token extension, resizes ...).
    """

    module: str
    source: str
    strict: bool = True
    loaded: int = 0
    kept: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)


_RECORDERS: List[List[LoadRecord]] = []


@contextmanager
def record_loads() -> Iterator[List[LoadRecord]]:
    """Collect the :class:`LoadRecord` of every load made inside the ``with`` block."""
    records: List[LoadRecord] = []
    _RECORDERS.append(records)
    try:
        yield records
    finally:
        _RECORDERS.remove(records)


def _is_allowed(key: str, allow_missing: Sequence[str]) -> bool:
    return key in allow_missing or key.split('.', 1)[0] in allow_missing


def load_strict(module: nn.Module, state: Dict[str, Tensor], source: str,
                allow_missing: Iterable[str] = (), notes: Sequence[str] = ()) -> LoadRecord:
    """Load ``state`` into ``module`` with every key matched.

    Args:
        module (nn.Module): The module.
        state (dict[str, Tensor]): Tensors named as ``module.state_dict()`` names them.
        source (str): The file (or other source) they came from, for messages and the record.
        allow_missing (Iterable[str]): Keys, or top-level part names, that may be missing
            from ``state``; they keep their current values. Defaults to ().
        notes (Sequence[str]): Added to the record. Defaults to ().

    Returns:
        LoadRecord: what was loaded.

    Raises:
        KeyError: If a key is missing (and not allowed) or unexpected; the message names
            ``source``, the module and every such key.
        RuntimeError: If a shape differs (naming ``source``).
    """
    allow = tuple(allow_missing)
    own = module.state_dict()
    missing = [k for k in own if k not in state and not _is_allowed(k, allow)]
    unexpected = sorted(k for k in state if k not in own)
    name = type(module).__name__
    if missing or unexpected:
        raise KeyError(f'checkpoint {source!r} does not match {name}: missing keys {missing}, '
                       f'unexpected keys {unexpected}')
    full = dict(own)
    full.update(state)
    try:
        module.load_state_dict(full, strict=True)
    except RuntimeError as e:
        raise RuntimeError(f'checkpoint {source!r} does not fit {name}: {e}') from e
    record = LoadRecord(module=name, source=str(source), loaded=len(state),
                        kept=[k for k in own if k not in state], notes=list(notes))
    for records in _RECORDERS:
        records.append(record)
    return record


def _allowed_missing(module: nn.Module, groups: Iterable[str]) -> Tuple[str, ...]:
    groups = (groups, ) if isinstance(groups, str) else tuple(groups)
    known: Dict[str, Sequence[str]] = getattr(module, 'allow_missing_groups', {})
    bad = [g for g in groups if g not in known]
    if bad:
        raise ValueError(f'unknown allow_missing groups {bad} for {type(module).__name__}; '
                         f'valid: {sorted(known)}')
    return tuple(p for g in groups for p in known[g])


def load_pretrained(module: nn.Module, checkpoint: str, prefix: Optional[str] = None,
                    allow_missing: Iterable[str] = (), extend_tokens: bool = False,
                    drop_keys: Iterable[str] = (), resize_pos_embed: bool = False,
                    map_location: Union[str, torch.device] = 'cpu') -> LoadRecord:
    """Read a module's own checkpoint file and load it strictly, through the named steps.

    In order: :func:`~sfmm.weights.read_checkpoint` (unwrapped); a released
    showlab/sparseformer layout is converted (:func:`~sfmm.weights.steps.convert_released`,
    then ``prefix`` defaults to ``'backbone.'``); keys are filtered by ``prefix``; the module's
    own ``checkpoint_filter_fn(state) -> state`` (if it defines one) maps its file layout to
    its keys; ``drop_keys`` parts are removed; latent tokens are extended; the position
    embedding is resized; :func:`load_strict`.

    Args:
        module (nn.Module): The module whose weights the file holds.
        checkpoint (str): Local path or URI.
        prefix (str, optional): Keep the keys starting with it, stripped (``'backbone.'`` for
            a classifier or bootstrap checkpoint). Defaults to None.
        allow_missing (Iterable[str]): Group names of the module's ``allow_missing_groups``
            (a SparseFormer: ``'focusing'``) whose keys may be missing. Defaults to ().
        extend_tokens (bool): Extend a checkpoint with fewer latent tokens
            (:func:`~sfmm.weights.steps.extend_tokens`). Defaults to False.
        drop_keys (Iterable[str]): Top-level parts in the file that the module does not build
            (from its ``droppable_parts`` if it declares them). Defaults to ().
        resize_pos_embed (bool): Resize a ViT's ``pos_embed`` to the module's grid
            (:func:`~sfmm.weights.steps.resize_pos_embed`). Defaults to False.
        map_location (str | torch.device): Defaults to 'cpu'.

    Returns:
        LoadRecord: what was loaded.

    Raises:
        FileNotFoundError: If the file is missing; the message names it and adds the module's
            ``how_to_obtain`` hint, if it has one (nothing is ever downloaded).
        RuntimeError: If the file is corrupt or truncated, or the module's filter fails.
        KeyError: If keys do not match (see :func:`load_strict`).
        ValueError: If ``allow_missing`` or ``drop_keys`` names something invalid.
    """
    name = type(module).__name__
    source = str(checkpoint)
    try:
        state = read_checkpoint(checkpoint, map_location=map_location)
    except FileNotFoundError:
        hint = getattr(module, 'how_to_obtain', '')
        raise FileNotFoundError(
            f'{name}: weights not found at {source!r}. sfmm never downloads weights; obtain '
            f'them and place the file there. {hint}'.rstrip()) from None
    notes: List[str] = []
    state, converted = steps.convert_released(state)
    if converted:
        notes.append('converted from the released showlab/sparseformer layout')
        prefix = 'backbone.' if prefix is None else prefix
    state = steps.filter_prefix(state, prefix, source)
    filter_fn = getattr(module, 'checkpoint_filter_fn', None)
    if filter_fn is not None:
        try:
            state = filter_fn(state)
        except (KeyError, ValueError, RuntimeError) as e:
            raise RuntimeError(f'checkpoint {source!r}: {name}.checkpoint_filter_fn: '
                               f'{e}') from e
    own = module.state_dict()
    if drop_keys:
        state = steps.drop_parts(state, drop_keys, own, getattr(module, 'droppable_parts', None))
    if extend_tokens:
        state, extended = steps.extend_tokens(state, own)
        notes += extended
    if resize_pos_embed:
        state, resized = steps.resize_pos_embed(state, own)
        notes += resized
    record = load_strict(module, state, source, _allowed_missing(module, allow_missing), notes)
    print_log(f'{name}: loaded {record.loaded} tensors strictly from {source}'
              + (f' (prefix {prefix!r})' if prefix else '')
              + ''.join(f'; {n}' for n in notes), logger='current')
    return record


def load_model_state(model: nn.Module, checkpoint: dict, source: str,
                     revise_keys: Sequence[Tuple[str, str]] = ((r'^module\.', ''), )
                     ) -> LoadRecord:
    """Load a loaded whole-model checkpoint (an mmengine runner's, or a plain state dict).

    The state dict is unwrapped, a released showlab/sparseformer state dict converted, keys
    revised (DDP's ``module.`` prefix removed) and :func:`load_strict` applied. Parts that
    checkpoints never hold (a bootstrapper's teacher) keep their weights, see
    :func:`sfmm.weights.exclude_from_parent_state_dict`.

    Args:
        model (nn.Module): The (unwrapped) model.
        checkpoint (dict): What ``read_checkpoint(filename, unwrap=False)`` returned.
        source (str): The file, for messages.
        revise_keys (Sequence[tuple[str, str]]): ``(pattern, replacement)`` regex pairs
            applied to every key. Defaults to stripping a leading ``module.``.

    Returns:
        LoadRecord: what was loaded.
    """
    state = unwrap_state_dict(checkpoint, str(source))
    state, converted = steps.convert_released(state)
    for pattern, replacement in revise_keys:
        state = {re.sub(pattern, replacement, k): v for k, v in state.items()}
    notes = ['converted from the released showlab/sparseformer layout'] if converted else []
    return load_strict(model, state, str(source), notes=notes)


def load_model_checkpoint(model: nn.Module, filename: str,
                          map_location: Union[str, torch.device] = 'cpu',
                          revise_keys: Sequence[Tuple[str, str]] = ((r'^module\.', ''), )
                          ) -> dict:
    """Read a whole-model checkpoint file and load it strictly (:func:`load_model_state`).

    Returns:
        dict: The whole loaded checkpoint (``meta``, ``message_hub`` ... when present).
    """
    checkpoint = read_checkpoint(filename, map_location=map_location, unwrap=False)
    load_model_state(model, checkpoint, str(filename), revise_keys)
    return checkpoint


__all__ = ['LoadRecord', 'load_model_checkpoint', 'load_model_state', 'load_pretrained',
           'load_strict', 'record_loads']
