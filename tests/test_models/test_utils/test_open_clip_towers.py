"""The open_clip tower adapter (written against open_clip 3.3.0) against open_clip's private
builders: same module types, keys, shapes and outputs. A failure here means open_clip's
internals changed and sfmm/models/utils/open_clip_towers.py must follow."""
import pytest
import torch
from open_clip.tokenizer import SimpleTokenizer

from sfmm.models.utils.open_clip_towers import build_text_tower, build_vision_tower

EMBED = 16
TEXT_CFG = dict(context_length=16, vocab_size=49408, width=32, heads=2, layers=2)
VISION_CFG = dict(image_size=32, layers=2, width=32, patch_size=16, head_width=16)


def _same_module(ours, theirs, inputs):
    assert [type(m).__name__ for m in ours.modules()] == \
        [type(m).__name__ for m in theirs.modules()]
    assert {k: v.shape for k, v in ours.state_dict().items()} == \
        {k: v.shape for k, v in theirs.state_dict().items()}
    theirs.load_state_dict(ours.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(ours(inputs), theirs(inputs))


@pytest.mark.parametrize('quick_gelu', [True, False])
@pytest.mark.parametrize('text_cfg', [
    TEXT_CFG, dict(TEXT_CFG, proj_bias=True, mlp_ratio=2., ls_init_value=0.5, pool_type='last')])
def test_text_tower_is_open_clips(quick_gelu, text_cfg):
    from open_clip.model import _build_text_tower  # the private reference, compared only
    ours = build_text_tower(EMBED, dict(text_cfg), quick_gelu).eval()
    theirs = _build_text_tower(EMBED, dict(text_cfg), quick_gelu=quick_gelu).eval()
    _same_module(ours, theirs, SimpleTokenizer(context_length=16)(['a cat', 'two dogs']))


@pytest.mark.parametrize('quick_gelu', [True, False])
@pytest.mark.parametrize('vision_cfg', [
    VISION_CFG, dict(VISION_CFG, mlp_ratio=2., ls_init_value=0.5, no_ln_pre=True),
    dict(VISION_CFG, image_size=48, final_ln_after_pool=True)])
def test_vision_tower_is_open_clips(quick_gelu, vision_cfg):
    from open_clip.model import _build_vision_tower  # the private reference, compared only
    ours = build_vision_tower(EMBED, dict(vision_cfg), quick_gelu).eval()
    theirs = _build_vision_tower(EMBED, dict(vision_cfg), quick_gelu=quick_gelu).eval()
    size = vision_cfg['image_size']
    _same_module(ours, theirs, torch.randn(2, 3, size, size))


def test_vision_tower_rejects_non_vit():
    with pytest.raises(ValueError, match='only ViT CLIP towers'):
        build_vision_tower(EMBED, dict(VISION_CFG, layers=(1, 1, 1, 1)), True)
