"""sfmm.CLIPTextEncoder: open_clip's text tower from public classes, weights from init_cfg."""
import math

import pytest
import torch
import torch.nn.functional as F
from open_clip.model import CLIP
from open_clip.tokenizer import SimpleTokenizer

from sfmm.models.text_encoders import CLIPTextEncoder

EMBED = 16
TEXT_CFG = dict(context_length=16, vocab_size=49408, width=32, heads=2, layers=2)
VISION_CFG = dict(image_size=32, layers=1, width=32, patch_size=16, head_width=16)
MODEL_CFG = dict(embed_dim=EMBED, text_cfg=TEXT_CFG)


def _clip_file(tmp_path, logit_scale=math.log(30.)):
    torch.manual_seed(0)
    clip = CLIP(EMBED, VISION_CFG, TEXT_CFG, quick_gelu=True).eval()
    with torch.no_grad():
        clip.logit_scale.fill_(logit_scale)
    path = tmp_path / 'clip.bin'
    torch.save(clip.state_dict(), path)
    return clip, str(path)


def test_weights_from_init_cfg_strictly(tmp_path):
    from sfmm.weights import record_loads
    clip, path = _clip_file(tmp_path)
    encoder = CLIPTextEncoder('tiny', MODEL_CFG, init_cfg=dict(type='sfmm.Pretrained',
                                                               checkpoint=path))
    assert not encoder.training and not any(p.requires_grad for p in encoder.parameters())
    with record_loads() as loads:
        encoder.init_weights()
    assert [(r.module, r.source) for r in loads] == [('CLIPTextEncoder', path)]
    assert float(encoder.logit_scale.exp()) == pytest.approx(30.)
    texts = ['a photo of a cat', 'a dog']
    with torch.no_grad():
        expected = F.normalize(clip.encode_text(SimpleTokenizer(context_length=16)(texts)), dim=-1)
    torch.testing.assert_close(encoder.encode(texts), expected)
    encoder.train()
    assert not encoder.training

    # a text-only (open_clip CustomTextCLIP) layout without logit_scale: CLIP's 100
    text_only = {f'text.{k}': v for k, v in encoder.tower.state_dict().items()}
    torch.save(text_only, tmp_path / 'text.pth')
    other = CLIPTextEncoder('tiny', MODEL_CFG, init_cfg=dict(
        type='Pretrained', checkpoint=str(tmp_path / 'text.pth')))
    other.init_weights()
    assert float(other.logit_scale.exp()) == pytest.approx(100.)
    torch.testing.assert_close(other.encode(texts), expected)
    # a missing tensor is an error naming the file
    del text_only['text.ln_final.bias']
    torch.save(text_only, tmp_path / 'short.pth')
    short = CLIPTextEncoder('tiny', MODEL_CFG, init_cfg=dict(
        type='sfmm.Pretrained', checkpoint=str(tmp_path / 'short.pth')))
    with pytest.raises(KeyError, match=r"short\.pth.*missing keys \['tower\.ln_final\.bias'\]"):
        short.init_weights()


def test_no_file_is_read_before_init_weights(tmp_path):
    encoder = CLIPTextEncoder('tiny', MODEL_CFG, init_cfg=dict(
        type='sfmm.Pretrained', checkpoint=str(tmp_path / 'absent.bin')))
    assert encoder.embed_dims == EMBED and encoder.context_length == 16
    with pytest.raises(FileNotFoundError, match=r'absent\.bin.*never downloads'):
        encoder.init_weights()
