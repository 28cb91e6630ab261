"""Resolving a CLIP text tower config from a model name or an explicit dict."""
import pytest

from sfmm.models.utils.clip_text import resolve_clip_text_cfg


def test_builtin_name_resolves_to_its_text_tower():
    model_cfg, text_cfg = resolve_clip_text_cfg('ViT-B-16')
    assert model_cfg['embed_dim'] == 512 and text_cfg['width'] == 512
    assert text_cfg['context_length'] == 77


def test_explicit_cfg_wins_and_bad_names_are_refused():
    cfg = dict(embed_dim=16, text_cfg=dict(context_length=8, width=32, heads=2, layers=1))
    assert resolve_clip_text_cfg('anything', cfg)[0]['embed_dim'] == 16
    with pytest.raises(ValueError, match='hub names'):
        resolve_clip_text_cfg('hf-hub:laion/CLIP-ViT-B-32')
    with pytest.raises(ValueError, match='unknown open_clip model'):
        resolve_clip_text_cfg('ViT-Nope-99')
    hf = dict(embed_dim=16, text_cfg=dict(hf_model_name='xlm-roberta-base'))
    with pytest.raises(ValueError, match='Hugging Face'):
        resolve_clip_text_cfg('xlm', hf)
