"""open_clip drop-in and LLaVA-style token features of a (tiny) CLIP SparseFormer."""
import numpy as np
import open_clip
import pytest
import torch
import torch.nn.functional as F
from open_clip.model import CLIP
from open_clip.transform import PreprocessCfg, image_transform_v2
from PIL import Image

from sfmm.apis.open_clip import (SparseFormerVisual, replace_open_clip_visual,
                                 sparseformer_llava_features)
from sfmm.models.backbones import SparseFormer

EMBED = 16
TEXT_CFG = dict(context_length=16, vocab_size=49408, width=32, heads=2, layers=1)
VISION_CFG = dict(image_size=32, layers=1, width=32, patch_size=16, head_width=16)
SF_ARCH = dict(focus_dims=64, embed_dims=32, num_layers=3, num_heads=2, act='quick_gelu',
               proj_dims=EMBED)
TOKENS = 8


def _clip():
    torch.manual_seed(0)
    return CLIP(EMBED, VISION_CFG, TEXT_CFG, quick_gelu=True).eval()


def _sparseformer(**kwargs):
    torch.manual_seed(1)
    return SparseFormer(arch=SF_ARCH, num_latent_tokens=TOKENS, num_points=4,
                        conv_channels=8, **kwargs).eval()


def test_drop_in_gives_the_sparseformer_embedding():
    clip, sf = _clip(), _sparseformer()
    old_size = clip.visual.image_size
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expected = sf(images)[0]
    assert replace_open_clip_visual(clip, sf) is clip
    assert isinstance(clip.visual, SparseFormerVisual)
    assert clip.visual.image_size == old_size and clip.visual.output_dim == EMBED
    with torch.no_grad():
        emb = clip.encode_image(images)
        emb_n = clip.encode_image(images, normalize=True)
        image_logits, text_logits = clip.get_logits(
            images, open_clip.tokenizer.SimpleTokenizer(context_length=16)(['a cat', 'a dog']))
    torch.testing.assert_close(emb, expected)
    torch.testing.assert_close(emb_n, F.normalize(expected, dim=-1))
    assert image_logits.shape == (2, 2) and torch.isfinite(image_logits).all()
    torch.testing.assert_close(text_logits, image_logits.t())
    # the SparseFormer's weights are the visual tower's now
    assert 'visual.sparseformer.proj.weight' in clip.state_dict()
    assert not any(k.startswith('visual.conv1') for k in clip.state_dict())


def test_drop_in_keeps_open_clip_preprocess_and_zero_shot_utilities():
    clip, sf = _clip(), _sparseformer(out_keys=('tokens', 'embed'))
    # what open_clip.create_model does with a pretrained config
    pp = dict(size=32, mean=(0.5, 0.4, 0.3), std=(0.2, 0.3, 0.4), interpolation='bicubic',
              resize_mode='shortest')
    open_clip.model.set_model_preprocess_cfg(clip, pp)
    replace_open_clip_visual(clip, sf)
    cfg = open_clip.get_model_preprocess_cfg(clip)
    assert cfg == pp and clip.visual.image_mean == pp['mean']
    preprocess = image_transform_v2(PreprocessCfg(**cfg), is_train=False)
    image = Image.fromarray(np.random.RandomState(0).randint(0, 255, (40, 50, 3), np.uint8))
    x = preprocess(image).unsqueeze(0)
    assert x.shape == (1, 3, 32, 32)

    tokenizer = open_clip.tokenizer.SimpleTokenizer(context_length=16)
    classes, templates = ['cat', 'dog', 'bus'], ['a photo of a {}.', 'a {} drawing']
    weights = open_clip.build_zero_shot_classifier(clip, tokenizer, classes, templates,
                                                   num_classes_per_batch=2)
    with torch.no_grad():
        logits = 100. * clip.encode_image(x, normalize=True) @ weights
        # by hand: mean of normalised prompt embeddings, normalised; the SparseFormer embed
        text = clip.encode_text(tokenizer([t.format(c) for c in classes for t in templates]),
                                normalize=True).view(3, 2, -1).mean(1)
        image = F.normalize(sf(x)[-1], dim=-1)
    torch.testing.assert_close(logits, 100. * image @ F.normalize(text, dim=-1).t())


def test_drop_in_rejects_other_clip_width_and_locks():
    clip = _clip()
    other = SparseFormer(arch=dict(SF_ARCH, proj_dims=EMBED * 2), num_latent_tokens=TOKENS,
                         num_points=4, conv_channels=8)
    with pytest.raises(ValueError, match='embeds into 32'):
        replace_open_clip_visual(clip, other)
    replace_open_clip_visual(clip, _sparseformer())
    clip.lock_image_tower()
    assert not any(p.requires_grad for p in clip.visual.parameters())
    assert any(p.requires_grad for p in clip.transformer.parameters())


def _cortex_outputs_by_hand(sf, images):
    """Every cortex block's output, running the blocks one by one on the cortex input
    (captured from a plain forward)."""
    captured = {}
    handle = sf.blocks[0].register_forward_pre_hook(
        lambda module, args: captured.setdefault('x', args[0]))
    with torch.no_grad():
        sf(images)
    handle.remove()
    outs, x = [], captured['x']
    with torch.no_grad():
        for block in sf.blocks:
            x = block(x)
            outs.append(x)
    return outs


def test_drop_in_refuses_a_sparseformer_without_embedding_head():
    with pytest.raises(ValueError, match='embedding head'):
        replace_open_clip_visual(_clip(), _sparseformer(out_keys=('tokens', )))


@pytest.mark.parametrize('out_keys,cls_only', [(('embed', ), True), (('tokens', 'embed'), False)])
@pytest.mark.parametrize('with_cls', [False, True])
@pytest.mark.parametrize('layer', [-1, -2, 0])
def test_llava_features_shape_and_values(out_keys, cls_only, with_cls, layer):
    # with cls_only_last_block (the CLIP configs' setting) the last block of a plain forward
    # computes [CLS] only; the features still come from every row of every block
    sf = _sparseformer(out_keys=out_keys, cls_only_last_block=cls_only)
    images = torch.randn(2, 3, 48, 40)
    feats = sparseformer_llava_features(sf, images, with_cls=with_cls, layer=layer)
    assert feats.shape == (2, TOKENS + int(with_cls), SF_ARCH['embed_dims'])
    assert torch.isfinite(feats).all()
    assert sf.out_keys == out_keys  # the model is not reconfigured
    expected = _cortex_outputs_by_hand(sf, images)[layer]
    torch.testing.assert_close(feats, expected if with_cls else expected[:, 1:])
    if 'tokens' in out_keys:  # the last block's output is the backbone's 'tokens'
        tokens = sf(images)[0]
        if layer == -1:
            torch.testing.assert_close(feats, tokens if with_cls else tokens[:, 1:])
        else:
            assert not torch.allclose(feats, tokens if with_cls else tokens[:, 1:])
    # the same through the open_clip drop-in, and no hook is left behind
    clip = replace_open_clip_visual(_clip(), sf)
    torch.testing.assert_close(
        sparseformer_llava_features(clip, images, with_cls=with_cls, layer=layer), feats)
    assert all(not b._forward_hooks for b in sf.blocks)
    with pytest.raises(IndexError):
        sparseformer_llava_features(sf, images, layer=3)
