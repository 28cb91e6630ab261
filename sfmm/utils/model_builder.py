"""Build a config's model for analysis (FLOPs, speed, config tests) without loading weights."""
import copy
from typing import Any, Optional

import torch
from torch import nn


def _is_checkpoint_init(init_cfg: Any) -> bool:
    return isinstance(init_cfg, dict) and (
        init_cfg.get('type') == 'Pretrained' or 'checkpoint' in init_cfg)


def drop_pretrained(cfg: Any) -> Any:
    """Remove every checkpoint ``init_cfg`` (and mmseg's ``pretrained=``) from a model config.

    Other initialisers (e.g. ``Kaiming``) are kept. Works on nested dicts and lists.

    Args:
        cfg (Any): a model config (``dict``/``ConfigDict``) or any nested value.

    Returns:
        Any: a deep copy without checkpoint initialisation.
    """
    cfg = copy.deepcopy(cfg)

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            for key in list(node.keys()):
                value = node[key]
                if key == 'init_cfg':
                    if _is_checkpoint_init(value):
                        node[key] = None
                    elif isinstance(value, (list, tuple)):
                        kept = [v for v in value if not _is_checkpoint_init(v)]
                        node[key] = kept or None
                else:
                    walk(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                walk(value)
        return node

    cfg = walk(cfg)
    if isinstance(cfg, dict) and isinstance(cfg.get('pretrained', None), str):
        cfg['pretrained'] = None  # mmseg segmentor-level weights
    return cfg


def stub_class_embeddings(model: nn.Module, seed: int = 0) -> int:
    """Give text-conditioned heads random class embeddings, so no text tower is ever run.

    A module counts as such a head if it has ``set_class_embeddings``, ``num_classes`` and
    ``embed_dims`` (e.g. :class:`sfmm.models.heads.ZeroShotClsHead`). Their cost at inference
    (one ``(E, num_classes)`` product) is unchanged by the stub.

    Args:
        model (nn.Module): the model.
        seed (int): seed of the random embeddings. Defaults to 0.

    Returns:
        int: how many heads were stubbed.
    """
    generator = torch.Generator().manual_seed(seed)
    count = 0
    for module in model.modules():
        if all(hasattr(module, a) for a in ('set_class_embeddings', 'num_classes', 'embed_dims')):
            module.set_class_embeddings(
                torch.randn(module.num_classes, module.embed_dims, generator=generator))
            count += 1
    return count


def build_model_from_cfg(cfg: Any, stub_text: bool = True) -> nn.Module:
    """Build ``cfg.model`` in the config's ``default_scope`` with no checkpoint loaded.

    ``init_weights()`` is not called, so nothing is read from disk; weights stay at their
    constructor initialisation. Custom imports are expected to have run (``Config.fromfile``
    does that).

    Args:
        cfg (mmengine.Config): the full config.
        stub_text (bool): give zero-shot heads random class embeddings. Defaults to True.

    Returns:
        nn.Module: the model, in eval mode.
    """
    from mmengine.registry import MODELS, init_default_scope

    scope: Optional[str] = cfg.get('default_scope', None)
    if scope is not None:
        init_default_scope(scope)
    model = MODELS.build(drop_pretrained(cfg.model))
    if stub_text:
        stub_class_embeddings(model)
    return model.eval()
