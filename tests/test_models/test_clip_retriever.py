"""CLIP retrieval: hand-made pairs, and the retrieval configs end to end through tools/test.py."""
import glob
import json
import os.path as osp
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from open_clip.model import CLIP
from open_clip.tokenizer import SimpleTokenizer
from PIL import Image

from conftest import REPO_ROOT, free_port, load_tool
from sfmm.models.algorithms import CLIPRetriever
from sfmm.models.algorithms.clip_retriever import _my_queries

EMBED = 16
TEXT_CFG = dict(context_length=16, vocab_size=49408, width=32, heads=2, layers=1)
VISION_CFG = dict(image_size=32, layers=1, width=32, patch_size=16, head_width=16)
MODEL_CFG = dict(embed_dim=EMBED, vision_cfg=VISION_CFG, text_cfg=TEXT_CFG)
SF_ARCH = dict(focus_dims=64, embed_dims=32, num_layers=2, num_heads=2, act='quick_gelu',
               proj_dims=EMBED)
SF_KW = dict(arch=SF_ARCH, num_latent_tokens=8, num_points=4, conv_channels=8)
# four images with 2, 1, 3 and 2 captions
CAPTIONS = [['a red square', 'something red'], ['a green thing'],
            ['blue', 'a blue picture', 'the sky'], ['a white image', 'bright white']]
COLORS = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (240, 240, 240)]


TEXT_ENCODER = dict(model_name='tiny', model_cfg=dict(embed_dim=EMBED, text_cfg=TEXT_CFG))


def _retriever():
    return CLIPRetriever(backbone=dict(type='sfmm.SparseFormer', **SF_KW),
                         text_encoder=TEXT_ENCODER)


def _recall_results(samples, topk):
    from sfmm.evaluation.metrics import RetrievalRecall
    metric = RetrievalRecall(topk=topk)
    metric.process(None, [s.to_dict() for s in samples])
    return {k: float(v) for k, v in metric.compute_metrics(metric.results).items()}


def test_recall_on_hand_made_pairs():
    # 3 images, 5 captions: t0, t1 describe image 0, t2 image 1, t3, t4 image 2
    images = F.normalize(torch.tensor([[1., 0, 0, 0], [0, 1, 0, 0], [1, 0, .1, 0]]), dim=-1)
    texts = F.normalize(torch.tensor([[1., 0, 0, 0], [0, .9, .1, 0], [0, 1, 0, 0],
                                      [.8, 0, .6, 0], [0, 0, 1, 0]]), dim=-1)
    # by hand (cosine scores):
    #  i2t: image 0 ranks t0 first (hit); image 1 ranks t2 first (hit); image 2 scores
    #       t0 .995 > t3 .856 > t4 .100, so its first caption is wrong, its second right.
    #       R@1 = 2/3, R@2 = 3/3.
    #  t2i: t0 -> image 0 (1.0 vs .995), t2 -> image 1, t3 -> image 2 (.856 vs .8),
    #       t4 -> image 2 (only non-zero score): hits; t1 ranks image 1, image 2, image 0:
    #       its image comes third. R@1 = R@2 = 4/5, R@3 = 5/5.
    feats = dict(image_feat=images, image_id=torch.arange(3),
                 text_count=torch.tensor([2, 1, 2]), text_feat=texts,
                 text_id=torch.arange(5))
    model = _retriever()
    i2t, t2i = model.predict_all(feats, None, num_images=3, num_texts=5)
    assert len(i2t) == 3 and len(t2i) == 5
    assert i2t[2].gt_label.tolist() == [3, 4] and t2i[1].gt_label.tolist() == [0]
    r = _recall_results(i2t, (1, 2))
    assert r['Recall@1'] == pytest.approx(200 / 3) and r['Recall@2'] == pytest.approx(100)
    r = _recall_results(t2i, (1, 2, 3))
    assert (r['Recall@1'], r['Recall@2'], r['Recall@3']) == pytest.approx((80, 80, 100))

    # any batch order / padding duplicates give the same rankings (placed by id)
    perm_i, perm_t = torch.tensor([2, 0, 1, 2]), torch.tensor([3, 4, 0, 1, 2, 3, 4])
    shuffled = dict(image_feat=images[perm_i], image_id=perm_i,
                    text_count=torch.tensor([2, 2, 1, 2]),
                    text_feat=texts[perm_t], text_id=perm_t)
    i2t2, t2i2 = model.predict_all(shuffled, None, num_images=3, num_texts=5)
    for a, b in zip(i2t + t2i, i2t2 + t2i2):
        torch.testing.assert_close(a.pred_score, b.pred_score)
        assert a.gt_label.tolist() == b.gt_label.tolist()
    with pytest.raises(ValueError, match='never seen'):
        model.predict_all(feats, None, num_images=4, num_texts=5)


def test_forward_modes_and_frozen_text_tower():
    from mmpretrain.structures import DataSample
    model = _retriever().eval()
    samples = []
    start = 0
    for i, caps in enumerate(CAPTIONS[:3]):
        sample = DataSample(text=caps, gt_text_id=list(range(start, start + len(caps))))
        sample.set_metainfo(dict(image_id=i))
        samples.append(sample)
        start += len(caps)
    images = torch.randn(3, 3, 32, 32)
    with pytest.raises(RuntimeError, match='no text encoder'):  # nothing built on first use
        model(images=images, data_samples=samples, mode='tensor')
    model.init_weights()  # builds the (here random) text tower, as the runner does
    with torch.no_grad():
        feats = model(images=images, data_samples=samples, mode='tensor')
    assert feats['image_feat'].shape == (3, EMBED) and feats['text_feat'].shape == (6, EMBED)
    assert feats['text_id'].tolist() == list(range(6))
    assert feats['text_count'].tolist() == [2, 1, 3] and feats['image_id'].tolist() == [0, 1, 2]
    torch.testing.assert_close(feats['text_feat'].norm(dim=-1), torch.ones(6))
    with torch.no_grad():  # 'inputs' (other preprocessors) works too; texts are deterministic
        again = model(inputs=images, data_samples=samples, mode='tensor')
        preds = model(images, samples, mode='predict')
    torch.testing.assert_close(again['text_feat'], feats['text_feat'])
    assert len(preds) == 3 and preds[2].pred_score.shape == (6, )
    assert preds[2].gt_label.tolist() == [3, 4, 5]
    # the text tower is outside the module tree: not in the state dict, not a parameter
    assert all(k.startswith('backbone.') for k in model.state_dict())
    assert sum(p.numel() for p in model.parameters()) == sum(
        p.numel() for p in model.backbone.parameters())
    with pytest.raises(NotImplementedError):
        model(images, samples, mode='loss')
    with pytest.raises(RuntimeError, match='Invalid mode'):
        model(images, samples, mode='features')


@pytest.mark.parametrize('world', [1, 2, 3])
def test_queries_interleave_like_the_evaluator(world):
    total = 7
    parts = [_my_queries(total, r, world) for r in range(world)]
    assert len({len(p) for p in parts}) == 1
    ordered = [q for group in zip(*parts) for q in group][:total]  # mmengine collect_results
    assert ordered == list(range(total))


# ----------------------------------------------------------------------------- end to end
def _write_images(folder, names, colors=COLORS):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.RandomState(0)
    for name, color in zip(names, colors):
        img = np.clip(np.array(color)[None, None] + rng.randint(-25, 25, (32, 32, 3)), 0, 255)
        Image.fromarray(img.astype(np.uint8)).save(folder / name)


def _coco(root, captions=CAPTIONS, colors=COLORS):
    names = [f'COCO_val2014_{i:012d}.png' for i in range(len(captions))]
    _write_images(root / 'val2014', names, colors)
    (root / 'annotations').mkdir()
    anno = [dict(image=f'val2014/{n}', caption=c, image_id=str(i))
            for i, (n, c) in enumerate(zip(names, captions))]
    (root / 'annotations' / 'coco_karpathy_test.json').write_text(json.dumps(anno))
    return [str(root / 'val2014' / n) for n in names]


def _flickr(root):
    names = [f'{1000 + i}.png' for i in range(4)]
    _write_images(root / 'images', names)
    (root / 'annotations').mkdir()
    images, sent = [], 0
    for i, (n, caps) in enumerate(zip(names, CAPTIONS)):
        images.append(dict(filename=n, imgid=i, split='test',
                           sentences=[dict(raw=c, imgid=i, sentid=sent + j)
                                      for j, c in enumerate(caps)]))
        sent += len(caps)
    images.insert(1, dict(filename='train.png', imgid=9, split='train',
                          sentences=[dict(raw='not in the test split', imgid=9, sentid=99)]))
    (root / 'annotations' / 'dataset_flickr30k.json').write_text(json.dumps(dict(images=images)))
    return [str(root / 'images' / n) for n in names]


def _hand_recall(image_emb, captions, text_emb, topk=(1, 2, 4)):
    """Recall@k both ways, from plain loops over the similarity matrix."""
    owner = [i for i, caps in enumerate(captions) for _ in caps]
    sim = (F.normalize(image_emb, dim=-1) @ F.normalize(text_emb, dim=-1).t()).numpy()
    out = {}
    for k in topk:
        i2t = [any(owner[j] == i for j in np.argsort(-sim[i])[:k]) for i in range(len(sim))]
        t2i = [i in np.argsort(-sim[:, i_t])[:k] for i_t, i in enumerate(owner)]
        out[f'i2t/retrieval/Recall@{k}'] = 100 * np.mean(i2t)
        out[f't2i/retrieval/Recall@{k}'] = 100 * np.mean(t2i)
    return out


def _clip_inputs(paths):
    # the 32x32 test images need no resize / crop: CLIP normalisation only
    mean = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(3, 1, 1)
    std = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(3, 1, 1)
    x = [torch.from_numpy(np.array(Image.open(p).convert('RGB'))).permute(2, 0, 1) / 255.
         for p in paths]
    return (torch.stack(x) - mean) / std


def _run_test_tool(tmp_path, base, data_root, checkpoint, model_override):
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(f"""
_base_ = [{osp.join(REPO_ROOT, base)!r}]
model = {model_override!r}
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=32, edge='short', backend='pillow', interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=32),
    dict(type='PackInputs', algorithm_keys=['text', 'gt_text_id', 'gt_image_id'],
         meta_keys=['image_id']),
]
test_dataloader = dict(batch_size=3, num_workers=0, persistent_workers=False,
                       dataset=dict(data_root={str(data_root)!r}, pipeline=test_pipeline))
default_hooks = dict(logger=dict(interval=1))
test_evaluator = dict(topk=(1, 2, 4))  # only 4 images to rank
""")
    test_tool = load_tool('tools/test.py')
    return test_tool.main([str(cfg), str(checkpoint), '--work-dir', str(tmp_path / 'wd')])


def _tiny_clip(tmp_path):
    torch.manual_seed(0)
    clip = CLIP(EMBED, VISION_CFG, TEXT_CFG, quick_gelu=True).eval()
    path = tmp_path / 'clip.bin'
    torch.save(clip.state_dict(), path)
    return clip, path


def _text_embeddings(clip, captions=CAPTIONS):
    tokenizer = SimpleTokenizer(context_length=TEXT_CFG['context_length'])
    with torch.no_grad():
        return clip.encode_text(tokenizer([c for caps in captions for c in caps]))


@pytest.mark.parametrize('dataset', ['coco', 'flickr30k'])
def test_sparseformer_retrieval_config_through_test_tool(tmp_path, dataset):
    from sfmm.apis.open_clip import replace_open_clip_visual
    from sfmm.models.backbones import SparseFormer
    clip, clip_path = _tiny_clip(tmp_path)
    root = tmp_path / dataset
    paths = (_coco if dataset == 'coco' else _flickr)(root)
    torch.manual_seed(1)
    sf = SparseFormer(**SF_KW).eval()
    ckpt = tmp_path / 'sf.pth'
    torch.save(dict(state_dict={'backbone.' + k: v for k, v in sf.state_dict().items()}), ckpt)

    metrics = _run_test_tool(
        tmp_path, f'configs/retrieval/sf-b_clip_{dataset}.py', root, ckpt,
        dict(backbone=dict(SF_KW, arch=dict(SF_ARCH, _delete_=True)),
             text_encoder=dict(TEXT_ENCODER, init_cfg=dict(checkpoint=str(clip_path)))))

    # by hand: the SparseFormer inside the open_clip model, open_clip's text tower
    replace_open_clip_visual(clip, sf)
    with torch.no_grad():
        image_emb = clip.encode_image(_clip_inputs(paths))
    expected = _hand_recall(image_emb, CAPTIONS, _text_embeddings(clip))
    assert set(expected) <= set(metrics)
    for key, value in expected.items():
        assert metrics[key] == pytest.approx(value, abs=1e-4), key
    assert 0 < metrics['t2i/retrieval/Recall@1'] < 100  # a non-trivial ranking was checked


def test_clip_teacher_retrieval_config_through_test_tool(tmp_path):
    clip, clip_path = _tiny_clip(tmp_path)
    root = tmp_path / 'coco'
    paths = _coco(root)
    convert = load_tool('tools/model_converters/clip_to_sfmm.py').convert
    ckpt = tmp_path / 'teacher.pth'
    assert convert('tiny', str(clip_path), str(ckpt), model_cfg=MODEL_CFG) > 0

    metrics = _run_test_tool(
        tmp_path, 'configs/retrieval/clip-vit-b16_coco.py', root, ckpt,
        dict(backbone=dict(teacher=dict(
            model_cfg=MODEL_CFG, init_cfg=dict(checkpoint=str(tmp_path / 'missing.bin')))),
             text_encoder=dict(TEXT_ENCODER, init_cfg=dict(checkpoint=str(clip_path)))))

    with torch.no_grad():
        image_emb = clip.encode_image(_clip_inputs(paths))  # the CLIP model itself
    expected = _hand_recall(image_emb, CAPTIONS, _text_embeddings(clip))
    for key, value in expected.items():
        assert metrics[key] == pytest.approx(value, abs=1e-4), key


def test_caption_files_of_both_layouts_read_alike(tmp_path):
    # mmpretrain registers it only with its multimodal extras; the module itself imports
    from mmpretrain.datasets.flickr30k_retrieval import Flickr30kRetrieval

    from sfmm.datasets import CaptionRetrieval
    _coco(tmp_path / 'coco')
    _flickr(tmp_path / 'flickr')
    coco = CaptionRetrieval(ann_file='annotations/coco_karpathy_test.json',
                            data_root=str(tmp_path / 'coco'))
    ours = CaptionRetrieval(ann_file='annotations/dataset_flickr30k.json',
                            data_root=str(tmp_path / 'flickr'), data_prefix='images')
    theirs = Flickr30kRetrieval(data_root=str(tmp_path / 'flickr'), data_prefix='images',
                                ann_file='annotations/dataset_flickr30k.json', split='test',
                                test_mode=True)
    assert coco.img_size == ours.img_size == theirs.img_size == 4
    assert coco.text_size == ours.text_size == theirs.text_size == 8
    for a, b, c in zip(coco, ours, theirs):
        assert a['text'] == b['text'] == c['text']
        assert a['gt_text_id'] == b['gt_text_id'] == c['gt_text_id']
        assert a['image_id'] == b['image_id'] == c['image_id']
        assert b['img_path'] == c['img_path'] and osp.isfile(a['img_path'])
    assert coco[2]['gt_text_id'] == [3, 4, 5] and coco[2]['gt_image_id'] == [2, 2, 2]


def test_two_gloo_ranks_match_one_process(tmp_path):
    """tools/dist_test.sh on 2 CPU ranks: uneven shards (5 images, padded by the sampler),
    features gathered and placed by id, results interleaved as the evaluator collects them;
    the fully frozen CLIP teacher runs under sfmm.EvalModelWrapper (DDP would refuse it)."""
    import os
    import subprocess
    captions = CAPTIONS + [['a gray square', 'grey', 'a dull picture']]
    colors = COLORS + [(120, 120, 120)]
    clip, clip_path = _tiny_clip(tmp_path)
    root = tmp_path / 'coco'
    paths = _coco(root, captions, colors)
    ckpt = tmp_path / 'teacher.pth'
    load_tool('tools/model_converters/clip_to_sfmm.py').convert(
        'tiny', str(clip_path), str(ckpt), model_cfg=MODEL_CFG)
    override = dict(backbone=dict(teacher=dict(
        model_cfg=MODEL_CFG, init_cfg=dict(checkpoint=str(tmp_path / 'none.bin')))),
                    text_encoder=dict(TEXT_ENCODER, init_cfg=dict(checkpoint=str(clip_path))))
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(f"""
_base_ = [{osp.join(REPO_ROOT, 'configs/retrieval/clip-vit-b16_coco.py')!r}]
model = {override!r}
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='CenterCrop', crop_size=32),
    dict(type='PackInputs', algorithm_keys=['text', 'gt_text_id', 'gt_image_id'],
         meta_keys=['image_id']),
]
test_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                       dataset=dict(data_root={str(root)!r}, pipeline=test_pipeline))
test_evaluator = dict(topk=(1, 2, 4))
""")
    env = dict(os.environ, PORT=str(free_port()), PYTHON=sys.executable, OMP_NUM_THREADS='1',
               CUDA_VISIBLE_DEVICES='')
    proc = subprocess.run(
        ['bash', 'tools/dist_test.sh', str(cfg), str(ckpt), '2', '--work-dir',
         str(tmp_path / 'wd')], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
        timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (log, ) = glob.glob(str(tmp_path / 'wd' / '*' / '*.json'))
    with open(log) as f:
        metrics = json.loads(f.read().splitlines()[-1])

    with torch.no_grad():
        image_emb = clip.encode_image(_clip_inputs(paths))
    expected = _hand_recall(image_emb, captions, _text_embeddings(clip, captions))
    for key, value in expected.items():
        assert metrics[key] == pytest.approx(value, abs=1e-3), key
