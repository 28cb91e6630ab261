"""Zero-shot classification configs end to end (tools/test.py) against open_clip by hand."""
import os.path as osp
import pickle

import numpy as np
import open_clip
import pytest
import torch
import torch.nn.functional as F
from open_clip.model import CLIP
from open_clip.tokenizer import SimpleTokenizer
from PIL import Image

from conftest import REPO_ROOT, load_tool, write_tiny_imagenet

EMBED = 16
TEXT_CFG = dict(context_length=16, vocab_size=49408, width=32, heads=2, layers=1)
VISION_CFG = dict(image_size=32, layers=1, width=32, patch_size=16, head_width=16)
MODEL_CFG = dict(embed_dim=EMBED, vision_cfg=VISION_CFG, text_cfg=TEXT_CFG)
SF_ARCH = dict(focus_dims=64, embed_dims=32, num_layers=2, num_heads=2, act='quick_gelu',
               proj_dims=EMBED)
SF_KW = dict(num_points=4, conv_channels=8)
CLASSES = ['red thing', 'green thing', 'blue thing', 'tench', 'goldfish']
TEMPLATES = ['a photo of a {}.', 'a {} drawing']


def _run(tmp_path, config, checkpoint, model_override, data_root):
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(f"""
_base_ = [{osp.join(REPO_ROOT, config)!r}]
model = {model_override!r}
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=32, edge='short', backend='pillow', interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=32),
    dict(type='PackInputs'),
]
test_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
                       dataset=dict(data_root={data_root!r}, pipeline=test_pipeline))
""")
    out = tmp_path / 'preds.pkl'
    metrics = load_tool('tools/test.py').main(
        [str(cfg), str(checkpoint), '--work-dir', str(tmp_path / 'wd'), '--out', str(out)])
    with open(out, 'rb') as f:
        return metrics, pickle.load(f)


def _val_images(root):
    with open(osp.join(root, 'meta', 'val.txt')) as f:
        items = [line.split() for line in f.read().splitlines() if line]
    mean = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(3, 1, 1)
    std = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(3, 1, 1)
    x = [torch.from_numpy(np.array(Image.open(osp.join(root, 'val', p)).convert('RGB')))
         .permute(2, 0, 1) / 255. for p, _ in items]
    return (torch.stack(x) - mean) / std, torch.tensor([int(label) for _, label in items])


def _by_hand(clip, image_emb):
    """CLIP zero-shot by hand: prompt embeddings normalised, averaged per class, normalised."""
    tokenizer = SimpleTokenizer(context_length=TEXT_CFG['context_length'])
    with torch.no_grad():
        text = F.normalize(clip.encode_text(tokenizer(
            [t.format(c) for c in CLASSES for t in TEMPLATES])), dim=-1)
        classes = F.normalize(text.view(len(CLASSES), len(TEMPLATES), -1).mean(1), dim=-1)
        logits = clip.logit_scale.exp() * F.normalize(image_emb, dim=-1) @ classes.t()
        # the same through open_clip's own zero-shot utility
        weights = open_clip.build_zero_shot_classifier(clip, tokenizer, CLASSES, TEMPLATES)
    torch.testing.assert_close(classes.t(), weights)
    return logits


@pytest.mark.parametrize('config', ['configs/classification/clip-vit-b16_in1k-zeroshot.py',
                                    'configs/classification/clip-vit-l14-336_in1k-zeroshot.py',
                                    'configs/classification/sf-l_clip-336_in1k-zeroshot.py'])
def test_zero_shot_config_matches_open_clip_by_hand(tmp_path, config):
    root = write_tiny_imagenet(str(tmp_path / 'imagenet'), classes=('r', 'g', 'b', 'x', 'y'),
                               per_class=2, splits=('val', ))
    torch.manual_seed(0)
    clip = CLIP(EMBED, VISION_CFG, TEXT_CFG, quick_gelu=True).eval()
    clip_path = tmp_path / 'clip.bin'
    torch.save(clip.state_dict(), clip_path)
    head = dict(classnames=CLASSES, templates=TEMPLATES,
                text_encoder=dict(model_cfg=dict(embed_dim=EMBED, text_cfg=TEXT_CFG),
                                  init_cfg=dict(checkpoint=str(clip_path))))
    images, labels = _val_images(root)

    if 'clip-vit' in config:  # the CLIP teacher itself, weights from the converted file
        ckpt = tmp_path / 'teacher.pth'
        load_tool('tools/model_converters/clip_to_sfmm.py').convert(
            'tiny', str(clip_path), str(ckpt), model_cfg=MODEL_CFG)
        override = dict(backbone=dict(teacher=dict(
            model_cfg=MODEL_CFG, init_cfg=dict(checkpoint=str(tmp_path / 'none.bin')))),
                        head=head)
        with torch.no_grad():
            image_emb = clip.encode_image(images)
    else:  # a SparseFormer, by hand through the open_clip drop-in
        from sfmm.apis.open_clip import replace_open_clip_visual
        from sfmm.models.backbones import SparseFormer
        torch.manual_seed(1)
        sf = SparseFormer(arch=SF_ARCH, num_latent_tokens=143, **SF_KW).eval()
        ckpt = tmp_path / 'sf.pth'
        torch.save(dict(state_dict={'backbone.' + k: v for k, v in sf.state_dict().items()}),
                   ckpt)
        override = dict(backbone=dict(SF_KW, arch=dict(SF_ARCH, _delete_=True)), head=head)
        with torch.no_grad():
            image_emb = replace_open_clip_visual(clip, sf).encode_image(images)

    metrics, preds = _run(tmp_path, config, ckpt, override, root)
    logits = _by_hand(clip, image_emb)
    scores = torch.stack([torch.as_tensor(p['pred_score']) for p in preds])
    torch.testing.assert_close(scores, logits.softmax(-1), rtol=1e-4, atol=1e-5)
    top1 = 100. * float((logits.argmax(-1) == labels).float().mean())
    assert metrics['accuracy/top1'] == pytest.approx(top1, abs=1e-4)
    assert metrics['accuracy/top5'] == pytest.approx(100.)  # 5 classes
