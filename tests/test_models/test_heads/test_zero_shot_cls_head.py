"""ZeroShotClsHead: prompt-averaged class embeddings from a tiny open_clip text tower."""
import math

import pytest
import torch
import torch.nn.functional as F
from open_clip.model import CLIP
from open_clip.tokenizer import SimpleTokenizer

from sfmm.models.heads import ZeroShotClsHead

EMBED = 16
TEXT_CFG = dict(context_length=16, vocab_size=49408, width=32, heads=2, layers=1)
VISION_CFG = dict(image_size=32, layers=1, width=32, patch_size=16, head_width=16)
MODEL_CFG = dict(embed_dim=EMBED, text_cfg=TEXT_CFG)
CLASSES = ['cat', 'dog', 'school bus']
TEMPLATES = ['a photo of a {}.', 'a drawing of the {}']


def _clip_checkpoint(tmp_path, logit_scale=math.log(20.)):
    """A full (tiny) open_clip CLIP state dict, visual keys included, as OpenAI/open_clip ship."""
    torch.manual_seed(0)
    clip = CLIP(EMBED, VISION_CFG, TEXT_CFG, quick_gelu=True).eval()
    with torch.no_grad():
        clip.logit_scale.fill_(logit_scale)
    path = tmp_path / 'tiny_clip.bin'
    torch.save(clip.state_dict(), path)
    return clip, str(path)


def _head(checkpoint=None, **kwargs):
    encoder = dict(model_name='tiny', model_cfg=MODEL_CFG)
    if checkpoint is not None:
        encoder['init_cfg'] = dict(type='sfmm.Pretrained', checkpoint=checkpoint)
    return ZeroShotClsHead(text_encoder=encoder, classnames=CLASSES, templates=TEMPLATES,
                           **kwargs)


def test_class_embeddings_are_prompt_averaged_clip_text_embeddings(tmp_path):
    clip, path = _clip_checkpoint(tmp_path)
    head = _head(checkpoint=path)
    emb = head.encode_classes()

    tokenizer = SimpleTokenizer(context_length=TEXT_CFG['context_length'])
    with torch.no_grad():
        expected = []
        for name in CLASSES:
            text = clip.encode_text(tokenizer([t.format(name) for t in TEMPLATES]))
            expected.append(F.normalize(F.normalize(text, dim=-1).mean(0), dim=-1))
    assert emb.shape == (3, EMBED)
    torch.testing.assert_close(emb, torch.stack(expected), rtol=1e-5, atol=1e-5)
    assert head.logit_scale == pytest.approx(20.)  # exp(logit_scale) of the checkpoint


def test_forward_predict_and_state(tmp_path):
    _, path = _clip_checkpoint(tmp_path)
    head = _head(checkpoint=path)
    image = torch.randn(4, EMBED)
    with pytest.raises(RuntimeError, match='no class embeddings'):  # never on first forward
        head((image, ))
    head.init_weights()  # encodes the classes (what the runner does before testing)
    logits = head((torch.randn(4, 8), image))  # the last backbone output is the embedding
    assert logits.shape == (4, 3) and torch.isfinite(logits).all()
    expected = 20. * F.normalize(image, dim=-1) @ head.class_embeddings.t()
    torch.testing.assert_close(logits, expected)
    # the text tower is not part of the image model: no parameters, nothing in the state dict
    assert sum(p.numel() for p in head.parameters()) == 0
    assert list(head.state_dict()) == []

    from mmpretrain.structures import DataSample
    samples = [DataSample().set_gt_label(i % 3) for i in range(4)]
    out = head.predict((image, ), samples)
    assert out[0] is samples[0]
    for sample, row in zip(out, logits):
        assert sample.pred_score.shape == (3, )
        assert float(sample.pred_score.sum()) == pytest.approx(1., abs=1e-5)
        assert int(sample.pred_label) == int(row.argmax())
    assert len(head.predict((image, ))) == 4


def test_imagenet_names_and_openai_templates():
    head = ZeroShotClsHead(text_encoder=dict(model_name='ViT-B-16'), classnames='imagenet',
                           templates='openai_imagenet')
    assert head.num_classes == 1000 and len(head.templates) == 80
    assert head.embed_dims == 512
    assert head.class_embeddings.numel() == 0  # nothing is built or encoded before use


def test_strict_loading_and_missing_file(tmp_path):
    clip, path = _clip_checkpoint(tmp_path)
    state = clip.state_dict()
    state['transformer.unexpected'] = torch.zeros(1)
    bad = tmp_path / 'bad.bin'
    torch.save(state, bad)
    with pytest.raises(KeyError, match=r"bad\.bin.*unexpected keys \['tower\.transformer"):
        _head(checkpoint=str(bad)).encode_classes()
    with pytest.raises(FileNotFoundError, match='never downloads'):
        _head(checkpoint=str(tmp_path / 'missing.bin')).encode_classes()


def test_loss_raises_and_embeddings_are_validated():
    head = _head()
    with pytest.raises(NotImplementedError):
        head.loss((torch.randn(2, EMBED), ), [])
    with pytest.raises(ValueError, match='class embeddings'):
        head.set_class_embeddings(torch.randn(2, EMBED))
    head.set_class_embeddings(torch.randn(3, EMBED) * 5)
    torch.testing.assert_close(head.class_embeddings.norm(dim=-1), torch.ones(3))
    with pytest.raises(ValueError, match='hub'):
        ZeroShotClsHead(text_encoder=dict(model_name='hf-hub:org/model'))
