"""Shared checks for the frozen open_clip text tower (``sfmm.CLIPTextEncoder``)."""
from typing import Optional, Tuple


def resolve_clip_text_cfg(model_name: str,
                          model_cfg: Optional[dict] = None) -> Tuple[dict, dict]:
    """The open_clip model config and its ``text_cfg`` for a CLIP-style text tower.

    Args:
        model_name (str): A built-in open_clip model name (no hub names: nothing downloads).
        model_cfg (dict, optional): An explicit open_clip model config (``embed_dim``,
            ``text_cfg`` ...) used instead of the named one. Defaults to None.

    Returns:
        tuple[dict, dict]: the model config and a copy of its ``text_cfg``.

    Raises:
        ValueError: for hub names, unknown names and Hugging Face text towers.
    """
    import open_clip
    if model_cfg is None:
        if ':' in model_name:
            raise ValueError(f'open_clip model {model_name!r}: hub names are not allowed '
                             '(nothing is downloaded); use a built-in open_clip name')
        model_cfg = open_clip.get_model_config(model_name)
        if model_cfg is None:
            raise ValueError(f'unknown open_clip model {model_name!r}')
    text_cfg = dict(model_cfg['text_cfg'])
    if text_cfg.get('hf_model_name') or text_cfg.get('hf_tokenizer_name'):
        raise ValueError(f'{model_name}: only CLIP-style text towers with the built-in BPE '
                         'tokenizer are supported (no Hugging Face text models)')
    return dict(model_cfg), text_cfg
