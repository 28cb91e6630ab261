"""Every leaf config under configs/ parses, follows the config rules and builds a (shrunk) model.

Configs are collected from the repository root (not the working directory). Each model is
shrunk before building: known wide modules get tiny widths (depths are kept, so relations
such as ``truncate + cortex depth == teacher depth`` still hold), heads get the matching
input width, checkpoints are dropped and nothing is loaded. A config whose shrunk model is
still large fails and names the module types that need a shrink rule in ``SHRINK_RULES``.
"""
import copy
import os
import os.path as osp
import re
import time
from typing import Callable, Dict, List

import pytest
import torch
from mmengine.config import Config

from conftest import REPO_ROOT

CONFIG_ROOT = osp.join(REPO_ROOT, 'configs')
MAX_PARAMS = 10_000_000  # a shrunk model above this needs a shrink rule
MAX_BUILD_SECONDS = 30.

TINY_WIDTH = 64  # focusing / cortex / ViT width (one 64-wide focusing head)
TINY_HEADS = 2
TINY_EMBED = 32  # CLIP-style projection width
TINY_CONV = 16
TINY_TOKENS = 8
TINY_TEXT = dict(context_length=16, vocab_size=49408, width=32, heads=2, layers=1)


def _leaf_configs() -> List[str]:
    found = []
    for root, dirs, files in os.walk(CONFIG_ROOT):
        dirs[:] = sorted(d for d in dirs if d != '_base_')
        found += [osp.relpath(osp.join(root, f), REPO_ROOT) for f in sorted(files)
                  if f.endswith('.py')]
    return found


LEAF_CONFIGS = _leaf_configs()


# ----------------------------------------------------------------------------- shrink rules
def _type_name(cfg: dict) -> str:
    t = cfg.get('type', '')
    return t.split('.')[-1] if isinstance(t, str) else getattr(t, '__name__', str(t))


def _shrink_sparseformer(cfg: dict, widths: Dict[int, int]) -> None:
    from sfmm.models.backbones import SparseFormer
    arch = cfg.get('arch', 'b-augreg')
    arch = dict(SparseFormer.arch_zoo[arch]) if isinstance(arch, str) else dict(arch)
    widths[arch['embed_dims']] = TINY_WIDTH
    widths[arch['focus_dims']] = TINY_WIDTH
    if arch.get('proj_dims'):
        widths[arch['proj_dims']] = TINY_EMBED
    cfg['arch'] = dict(arch, focus_dims=TINY_WIDTH, embed_dims=TINY_WIDTH,
                       num_heads=TINY_HEADS,
                       proj_dims=TINY_EMBED if arch.get('proj_dims') else None)
    cfg['num_latent_tokens'] = min(cfg.get('num_latent_tokens', 48), TINY_TOKENS)
    cfg['conv_channels'] = TINY_CONV


def _shrink_sparseformer_v1(cfg: dict, widths: Dict[int, int]) -> None:
    from sfmm.models.backbones import SparseFormerV1
    arch = cfg.get('arch', 'tiny')
    arch = dict(SparseFormerV1.arch_zoo[arch]) if isinstance(arch, str) else dict(arch)
    widths[arch['embed_dims']] = TINY_WIDTH
    widths[arch['focus_dims']] = TINY_WIDTH
    tokens = cfg.get('num_latent_tokens') or arch.get('num_latent_tokens', TINY_TOKENS)
    cfg['arch'] = dict(arch, focus_dims=TINY_WIDTH, embed_dims=TINY_WIDTH, num_heads=TINY_HEADS)
    cfg['num_latent_tokens'] = min(tokens, TINY_TOKENS)
    cfg['conv_channels'] = TINY_CONV


def _shrink_vit(cfg: dict, widths: Dict[int, int]) -> None:
    if 'arch' not in cfg and 'embed_dims' in cfg:  # mmseg's VisionTransformer
        widths[cfg['embed_dims']] = TINY_WIDTH
        cfg.update(embed_dims=TINY_WIDTH, num_heads=TINY_HEADS)
        return
    from mmpretrain.models import VisionTransformer
    arch = cfg.get('arch', 'base')
    arch = dict(VisionTransformer.arch_zoo[arch]) if isinstance(arch, str) else dict(arch)
    widths[arch['embed_dims']] = TINY_WIDTH
    cfg['arch'] = dict(embed_dims=TINY_WIDTH, num_layers=arch['num_layers'],
                       num_heads=TINY_HEADS, feedforward_channels=2 * TINY_WIDTH)
    cfg['img_size'] = 64


def _shrink_mmpretrain_vit_teacher(cfg: dict, widths: Dict[int, int]) -> None:
    from mmpretrain.models import VisionTransformer
    arch = cfg.get('arch', 'b')
    arch = dict(VisionTransformer.arch_zoo[arch]) if isinstance(arch, str) else dict(arch)
    widths[arch['embed_dims']] = TINY_WIDTH
    cfg['arch'] = dict(embed_dims=TINY_WIDTH, num_layers=arch['num_layers'],
                       num_heads=TINY_HEADS, feedforward_channels=2 * TINY_WIDTH)


def _shrink_timm_teacher(cfg: dict, widths: Dict[int, int]) -> None:
    kwargs = dict(cfg.get('model_kwargs') or {})
    kwargs.update(embed_dim=TINY_WIDTH, num_heads=TINY_HEADS)
    cfg['model_kwargs'] = kwargs


def _shrink_open_clip_teacher(cfg: dict, widths: Dict[int, int]) -> None:
    import open_clip
    model_cfg = copy.deepcopy(cfg.get('model_cfg') or
                              open_clip.get_model_config(cfg.get('model_name', 'ViT-B-16')))
    widths[model_cfg['embed_dim']] = TINY_EMBED
    widths[model_cfg['vision_cfg']['width']] = TINY_WIDTH
    model_cfg['embed_dim'] = TINY_EMBED
    model_cfg['vision_cfg'] = dict(model_cfg['vision_cfg'], width=TINY_WIDTH,
                                   head_width=TINY_WIDTH // TINY_HEADS)
    model_cfg.pop('text_cfg', None)
    cfg['model_cfg'] = model_cfg


def _shrink_text_encoder(cfg: dict, widths: Dict[int, int]) -> None:
    cfg['model_cfg'] = dict(embed_dim=TINY_EMBED, text_cfg=dict(TINY_TEXT))


def _shrink_in_channels(cfg: dict, widths: Dict[int, int]) -> None:
    if cfg.get('in_channels') in widths:
        cfg['in_channels'] = widths[cfg['in_channels']]


def _shrink_channels(cfg: dict, widths: Dict[int, int]) -> None:
    """mmseg necks / decode heads: remap input and output widths, narrow the inner width."""
    for key in ('in_channels', 'out_channels'):
        value = cfg.get(key)
        if isinstance(value, int):
            cfg[key] = widths.get(value, value)
        elif isinstance(value, (list, tuple)):
            cfg[key] = type(value)(widths.get(v, v) for v in value)
    if isinstance(cfg.get('channels'), int):
        cfg['channels'] = min(cfg['channels'], 32)


# type name -> rule(cfg, widths): shrinks cfg in place and records {old width: new width}.
# Backbones and teachers first (they define the widths), then heads.
SHRINK_RULES: Dict[str, Callable[[dict, Dict[int, int]], None]] = {
    'SparseFormer': _shrink_sparseformer,
    'SparseFormerV1': _shrink_sparseformer_v1,
    'VisionTransformer': _shrink_vit,
    'MMPretrainViTTeacher': _shrink_mmpretrain_vit_teacher,
    'TimmViTTeacher': _shrink_timm_teacher,
    'OpenCLIPTeacher': _shrink_open_clip_teacher,
    'CLIPTextEncoder': _shrink_text_encoder,
    'LinearClsHead': _shrink_in_channels,
    'VisionTransformerClsHead': _shrink_in_channels,
    'MultiLevelNeck': _shrink_channels,
    'UPerHead': _shrink_channels,
    'FCNHead': _shrink_channels,
}
_WIDTH_DEFINING = ('SparseFormer', 'SparseFormerV1', 'VisionTransformer',
                   'MMPretrainViTTeacher', 'TimmViTTeacher', 'OpenCLIPTeacher')


def _typed_dicts(node) -> List[dict]:
    out = []
    if isinstance(node, dict):
        if 'type' in node:
            out.append(node)
        for value in node.values():
            out += _typed_dicts(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            out += _typed_dicts(value)
    return out


def shrink_model_cfg(model_cfg: dict) -> List[str]:
    """Shrink ``model_cfg`` in place; returns the type names no rule touched."""
    widths: Dict[int, int] = {}
    nodes = _typed_dicts(model_cfg)
    nodes.sort(key=lambda n: _type_name(n) not in _WIDTH_DEFINING)
    untouched = []
    for node in nodes:
        rule = SHRINK_RULES.get(_type_name(node))
        if rule is None:
            untouched.append(str(node['type']))
        else:
            rule(node, widths)
    return untouched


# ----------------------------------------------------------------------------- tests
def test_configs_are_collected_from_repo_root():
    on_disk = []
    for root, _, files in os.walk(CONFIG_ROOT):
        if '_base_' in osp.relpath(root, CONFIG_ROOT).split(os.sep):
            continue
        on_disk += [f for f in files if f.endswith('.py')]
    assert len(LEAF_CONFIGS) == len(on_disk) > 0
    assert all(not osp.isabs(p) and osp.isfile(osp.join(REPO_ROOT, p)) for p in LEAF_CONFIGS)
    for name in ('sf-b_augreg_in1k', 'sf-l_augreg_in1k', 'sf-b_clip_in1k-zeroshot',
                 'sf-l_clip_in1k-zeroshot', 'vit-b16_augreg_in1k', 'vit-l16_augreg_in1k'):
        leaves = [p.replace(os.sep, '/') for p in LEAF_CONFIGS]
        assert f'configs/classification/{name}.py' in leaves


_BASE_ORDER = ('models', 'datasets', 'schedules', 'default_runtime')


def _base_kind(path: str) -> int:
    for i, kind in enumerate(_BASE_ORDER):
        if f'/{kind}' in path.replace(os.sep, '/'):
            return i
    return -1


@pytest.mark.parametrize('relpath', LEAF_CONFIGS)
def test_config_rules(relpath):
    path = osp.join(REPO_ROOT, relpath)
    with open(path) as f:
        text = f.read()
    assert text.startswith('#'), f'{relpath}: leaf configs open with a header comment'
    cfg = Config.fromfile(path)
    assert cfg.get('default_scope'), f'{relpath}: no default_scope'
    imports = (cfg.get('custom_imports') or {}).get('imports', [])
    assert 'sfmm.models' in imports, f'{relpath}: custom_imports must import sfmm.models'
    match = re.search(r'_base_\s*=\s*\[(.*?)\]', text, re.S)
    if match:
        kinds = [_base_kind(p) for p in re.findall(r"['\"]([^'\"]+)['\"]", match.group(1))]
        known = [k for k in kinds if k >= 0]
        assert known == sorted(known), f'{relpath}: _base_ order is model, dataset, ' \
                                       'schedule, runtime'
    for value in re.findall(r"['\"]([^'\"\n]*)['\"]", text):
        assert not value.startswith(('/home', '/root', '~', '/Users')), \
            f'{relpath}: home path {value!r}'
    logger = (cfg.get('default_hooks') or {}).get('logger')
    assert logger is not None and logger['type'] == 'sfmm.LoggerHook', \
        f'{relpath}: default_hooks.logger must be sfmm.LoggerHook (rank-0 test json)'


@pytest.mark.parametrize('relpath', LEAF_CONFIGS)
def test_config_builds_shrunk_model(relpath):
    from mmengine.registry import MODELS, init_default_scope

    from sfmm.utils.model_builder import drop_pretrained, stub_class_embeddings

    cfg = Config.fromfile(osp.join(REPO_ROOT, relpath))
    model_cfg = drop_pretrained(cfg.model.to_dict() if hasattr(cfg.model, 'to_dict')
                                else dict(cfg.model))
    untouched = shrink_model_cfg(model_cfg)
    init_default_scope(cfg.default_scope)
    start = time.perf_counter()
    model = MODELS.build(model_cfg)
    seconds = time.perf_counter() - start
    num_params = sum(p.numel() for p in model.parameters())
    assert num_params <= MAX_PARAMS and seconds <= MAX_BUILD_SECONDS, (
        f'{relpath}: the shrunk model still has {num_params / 1e6:.1f}M params '
        f'({seconds:.1f}s to build); add a rule to SHRINK_RULES in tests/test_configs.py for '
        f'one of {sorted(set(untouched))}')

    if _type_name(model_cfg) == 'ImageClassifier':
        stub_class_embeddings(model)
        model.eval()
        with torch.no_grad():
            logits = model(torch.randn(2, 3, 64, 64), mode='tensor')
        num_classes = model_cfg['head'].get('num_classes') or model.head.num_classes
        assert logits.shape == (2, num_classes)
        assert torch.isfinite(logits).all()
        with torch.no_grad():
            samples = model(torch.randn(2, 3, 64, 64), mode='predict')
        assert len(samples) == 2 and samples[0].pred_score.shape == (num_classes, )


def test_classification_configs_match_spec_settings():
    """The facts the classification numbers depend on (SPEC and the paper)."""
    def load(name):
        return Config.fromfile(osp.join(CONFIG_ROOT, 'classification', name + '.py'))

    tokens = {'sf-b_augreg_in1k': 48, 'sf-l_augreg_in1k': 48, 'sf-b_clip_in1k-zeroshot': 48,
              'sf-l_clip_in1k-zeroshot': 63}
    for name, n in tokens.items():
        cfg = load(name)
        assert cfg.model.backbone.type == 'sfmm.SparseFormer'
        assert cfg.model.backbone.num_latent_tokens == n
        assert cfg.model.backbone.out_keys[-1] == 'embed'
        assert cfg.test_dataloader.dataset.split == 'val'
        crop = [t for t in cfg.test_dataloader.dataset.pipeline if t.type == 'CenterCrop']
        assert crop[0].crop_size == 224
    augreg = load('sf-b_augreg_in1k')
    assert augreg.model.head.num_classes == 1000 and augreg.model.head.in_channels == 768
    assert load('sf-l_augreg_in1k').model.head.in_channels == 1024
    assert augreg.data_preprocessor.mean == [127.5] * 3
    resize = [t for t in augreg.test_dataloader.dataset.pipeline if t.type == 'ResizeEdge'][0]
    assert resize.scale == 248 and resize.interpolation == 'bicubic'
    clip = load('sf-l_clip_in1k-zeroshot')
    assert clip.model.head.type == 'sfmm.ZeroShotClsHead'
    assert clip.model.head.text_encoder.model_name == 'ViT-L-14'
    assert clip.model.backbone.arch == 'l-clip'
    assert clip.data_preprocessor.mean[0] == pytest.approx(0.48145466 * 255)
    vit = load('vit-l16_augreg_in1k')
    assert vit.model.backbone.arch == 'l' and vit.model.backbone.patch_size == 16
    assert vit.model.backbone.out_type == 'cls_token'


def _metafiles() -> List[str]:
    return sorted(osp.join(root, 'metafile.yml') for root, _, files in os.walk(CONFIG_ROOT)
                  if 'metafile.yml' in files)


@pytest.mark.parametrize('metafile', _metafiles())
def test_metafile_and_readme_agree_with_configs(metafile):
    import yaml
    folder = osp.dirname(metafile)
    with open(metafile) as f:
        meta = yaml.safe_load(f)
    names = []
    for model in meta['Models']:
        config = osp.join(REPO_ROOT, model['Config'])
        assert osp.isfile(config), f'{metafile}: missing config {model["Config"]}'
        assert model['Name'] == osp.splitext(osp.basename(config))[0]
        names.append(model['Name'])
    leafs = sorted(osp.splitext(f)[0] for f in os.listdir(folder) if f.endswith('.py'))
    assert sorted(names) == leafs
    with open(osp.join(folder, 'README.md')) as f:
        readme = f.read()
    links = re.findall(r'\[config\]\(([^)]+)\)', readme)
    assert sorted(osp.splitext(osp.basename(p))[0] for p in links) == leafs
    assert all(osp.isfile(osp.join(folder, p)) for p in links)


@pytest.mark.parametrize('metafile', _metafiles())
def test_readme_table_numbers_match_metafile(metafile):
    import yaml
    with open(metafile) as f:
        meta = {m['Name']: m for m in yaml.safe_load(f)['Models']}
    with open(osp.join(osp.dirname(metafile), 'README.md')) as f:
        lines = f.read().splitlines()
    header, checked = None, 0
    for line in lines:
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if 'Params (M)' in cells:
            header = cells
            continue
        if header is None or len(cells) != len(header) or cells[0] not in meta:
            continue
        metadata = meta[cells[0]]['Metadata']
        params = float(cells[header.index('Params (M)')])
        assert params * 1e6 == pytest.approx(metadata['Parameters'], rel=1e-3), cells[0]
        if 'FLOPs (G)' in header:
            flops = float(cells[header.index('FLOPs (G)')].split()[0])
            assert flops * 1e9 == pytest.approx(metadata['FLOPs'], rel=5e-3), cells[0]
        checked += 1
    assert checked == len(meta)


def _fit_last_linear(feats: torch.Tensor, targets: torch.Tensor, bias: bool):
    """Least squares ``feats @ W.T (+ b) = targets``; returns ``W`` and ``b`` (or None)."""
    x = torch.cat([feats, torch.ones(len(feats), 1)], 1) if bias else feats
    sol = torch.linalg.lstsq(x.double(), targets.double()).solution.float()
    if bias:
        return sol[:-1].t().contiguous(), sol[-1].contiguous()
    return sol.t().contiguous(), None


@pytest.mark.parametrize('name', ['sf-b_augreg_in1k', 'sf-b_clip_in1k-zeroshot'])
def test_classification_config_evaluates_with_tools_test(tmp_path, name):
    """The real eval pipeline, preprocessor, head and metric run through tools/test.py.

    The checkpoint's last linear layer is fitted (least squares, on the embeddings of the val
    images through the config's own test pipeline and preprocessor) so that every val image
    is classified right: the AugReg classifier, or the CLIP projection onto the class text
    embeddings of a tiny CLIP text tower. tools/test.py must then report top-1 100, and 0 when
    the fit targets the other class; both equal the top-1 computed by hand from the
    predictions it saved. A wrong pipeline, preprocessor, key mapping or metric breaks this.
    """
    import pickle

    from mmengine.registry import MODELS, init_default_scope
    from mmengine.runner import Runner
    from open_clip.model import CLIP

    from conftest import load_tool, write_tiny_imagenet
    data_root = write_tiny_imagenet(str(tmp_path / 'data'), per_class=2, splits=('val', ))
    leaf = osp.join(CONFIG_ROOT, 'classification', name + '.py')
    cfg = Config.fromfile(leaf)
    model_cfg = cfg.model.to_dict()
    shrink_model_cfg(model_cfg)
    clip = model_cfg['head']['type'] == 'sfmm.ZeroShotClsHead'
    if clip:  # a tiny CLIP text tower read from a file, as the real config reads CLIP's
        torch.manual_seed(1)
        text_cfg = model_cfg['head']['text_encoder']['model_cfg']
        tower = CLIP(text_cfg['embed_dim'], dict(image_size=32, layers=1, width=32,
                                                 patch_size=16, head_width=16),
                     text_cfg['text_cfg'], quick_gelu=True)
        torch.save(tower.state_dict(), tmp_path / 'clip.bin')
        model_cfg['head'].update(classnames=['a', 'b'], templates=['a photo of {}.'])
        model_cfg['head']['text_encoder']['init_cfg']['checkpoint'] = str(tmp_path / 'clip.bin')
    else:
        model_cfg['head'].update(num_classes=2)
    derived = tmp_path / f'{name}_tiny.py'
    derived.write_text(
        f'_base_ = [{leaf!r}]\n'
        f'model = {dict(model_cfg, _delete_=True)!r}\n'
        f'data_preprocessor = dict(num_classes=2)\n'
        f'test_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False, '
        f'dataset=dict(data_root={data_root!r}, classes=["a", "b"]))\n'
        f'test_evaluator = dict(topk=(1, ))\n')
    derived_cfg = Config.fromfile(str(derived))
    init_default_scope(cfg.default_scope)
    torch.manual_seed(0)
    model = MODELS.build(dict(model_cfg, data_preprocessor=derived_cfg.data_preprocessor))
    model.eval()

    # embeddings (AugReg) / pre-projection features (CLIP) of the val images, as tested
    captured = []
    if clip:
        model.backbone.proj.register_forward_hook(lambda m, x, y: captured.append(x[0]))
    feats, labels = [], []
    with torch.no_grad():
        for batch in Runner.build_dataloader(derived_cfg.test_dataloader):
            data = model.data_preprocessor(batch, False)
            feats.append(model.extract_feat(data['inputs'])[-1])
            labels += [int(s.gt_label) for s in data['data_samples']]
    labels = torch.tensor(labels)
    assert sorted(labels.tolist()) == [0, 0, 1, 1]
    state = model.state_dict()
    feats = torch.cat(captured if clip else feats)
    if clip:
        classes = model.head.encode_classes()  # (2, E), normalised

    def evaluate(target: torch.Tensor, tag: str) -> float:
        if clip:
            weight, _ = _fit_last_linear(feats, classes[target], bias=False)
            fitted = dict(state, **{'backbone.proj.weight': weight})
        else:
            weight, bias = _fit_last_linear(feats, 10. * torch.eye(2)[target], bias=True)
            fitted = dict(state, **{'head.fc.weight': weight, 'head.fc.bias': bias})
        ckpt = str(tmp_path / f'{tag}.pth')
        torch.save(dict(state_dict=fitted, meta=dict()), ckpt)
        preds_file = str(tmp_path / f'{tag}.pkl')
        metrics = load_tool('tools/test.py').main(
            [str(derived), ckpt, '--work-dir', str(tmp_path / tag), '--out', preds_file])
        with open(preds_file, 'rb') as f:
            preds = pickle.load(f)
        assert len(preds) == 4
        by_hand = 100. * sum(int(torch.as_tensor(p['pred_score']).argmax()) == int(p['gt_label'])
                             for p in preds) / len(preds)
        assert metrics['accuracy/top1'] == pytest.approx(by_hand)
        return metrics['accuracy/top1']

    assert evaluate(labels, 'fitted') == pytest.approx(100.)
    assert evaluate(1 - labels, 'swapped') == pytest.approx(0.)


def _header(relpath: str) -> str:
    with open(osp.join(REPO_ROOT, relpath)) as f:
        return f.read().split('\n_base_')[0]


@pytest.mark.parametrize('relpath', LEAF_CONFIGS)
def test_header_token_count_matches_the_model(relpath):
    """A header's first "N tokens" is the SparseFormer's latent tokens + [CLS]."""
    match = re.search(r'(\d+) tokens', _header(relpath))
    cfg = Config.fromfile(osp.join(REPO_ROOT, relpath))
    backbone = cfg.model.get('backbone') or {}
    if match is None or backbone.get('type') != 'sfmm.SparseFormer':
        pytest.skip('no SparseFormer token count in this header')
    assert backbone.num_latent_tokens + 1 == int(match.group(1)), \
        f'{relpath}: header says {match.group(0)}, model has {backbone.num_latent_tokens} + 1'


def _base_hops(path: str) -> int:
    """Longest chain of ``_base_`` references from ``path`` to a file with none."""
    with open(path) as f:
        text = f.read()
    match = re.search(r'^_base_\s*=\s*(\[.*?\]|[\'"][^\'"]+[\'"])', text, re.S | re.M)
    if not match:
        return 0
    bases = [b for b in re.findall(r"['\"]([^'\"]+)['\"]", match.group(1)) if '::' not in b]
    return 1 + max([_base_hops(osp.normpath(osp.join(osp.dirname(path), b))) for b in bases],
                   default=0)


@pytest.mark.parametrize('relpath', LEAF_CONFIGS)
def test_base_chain_at_most_3_deep(relpath):
    hops = _base_hops(osp.join(REPO_ROOT, relpath))
    assert 1 <= hops <= 3, \
        f'{relpath}: _base_ chain is {hops} deep (inherit from a shallower leaf)'


def _code_without_values(path: str) -> str:
    """The file's tokens with comments dropped and every number and string masked."""
    import io
    import tokenize
    with open(path) as f:
        tokens = tokenize.generate_tokens(io.StringIO(f.read()).readline)
        return ' '.join('<v>' if t.type in (tokenize.NUMBER, tokenize.STRING) else t.string
                        for t in tokens if t.type not in (
                            tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                            tokenize.DEDENT))


def test_no_two_bases_differ_only_in_values():
    """Two base files with the same code but other values (an SF-B and an SF-L twin) are one
    base: the leaves (or a thin override) state the values that differ."""
    seen = {}
    for root, _, files in sorted(os.walk(CONFIG_ROOT)):
        for name in sorted(files):
            if '_base_' in osp.relpath(root, CONFIG_ROOT).split(os.sep) and name.endswith('.py'):
                path = osp.join(root, name)
                code = _code_without_values(path)
                assert code not in seen, \
                    f'{osp.relpath(path, CONFIG_ROOT)} repeats {seen[code]} with other values'
                seen[code] = osp.relpath(path, CONFIG_ROOT)


@pytest.mark.parametrize('relpath', LEAF_CONFIGS)
def test_header_labels_its_figures(relpath):
    """A header's figures say where they come from: "paper: ..." (not measured in sfmm) or
    "measured: ..." with the command that measured them."""
    header = _header(relpath)
    for word in ('Reproduces', 'Expected', 'Paper Table'):
        assert word not in header, f'{relpath}: write "paper: ..." instead of {word!r}'
    for match in re.finditer(r'measured:(.*?)(?=\n# paper:|\Z)', header, re.S):
        assert re.search(r'tools/\S+\.py|make [\w-]+', match.group(1)), \
            f'{relpath}: "measured:{match.group(1)[:40]}..." names no command'


_CLIP_TYPES = ('sfmm.OpenCLIPTeacher', 'sfmm.ZeroShotClsHead', 'sfmm.CLIPRetriever')


@pytest.mark.parametrize('relpath', LEAF_CONFIGS)
def test_leaf_uses_the_shared_hooks_and_clip_normalisation(relpath):
    """Leaves extend the runtime's hooks (``_base_.runtime_hooks + [...]``) instead of
    re-listing them, and every CLIP model is normalised with the statistics of
    configs/_base_/datasets/clip_normalize.py, the only file that spells them out."""
    cfg = Config.fromfile(osp.join(REPO_ROOT, relpath))
    runtime = cfg.runtime_hooks
    assert [h.type for h in runtime] == ['sfmm.CheckpointCompatHook', 'sfmm.NonFiniteLossHook']
    assert cfg.custom_hooks[:len(runtime)] == runtime, f'{relpath}: runtime hooks dropped'
    model = cfg.model.to_dict()
    types = {n['type'] for n in _typed_dicts(model)}
    arch = (model.get('backbone') or {}).get('arch')
    if types & set(_CLIP_TYPES) or (isinstance(arch, str) and arch.endswith('clip')):
        clip = Config.fromfile(
            osp.join(CONFIG_ROOT, '_base_', 'datasets', 'clip_normalize.py')).clip_normalize
        assert clip.mean[0] == pytest.approx(0.48145466 * 255)
        assert clip.std[0] == pytest.approx(0.26862954 * 255)
        assert cfg.data_preprocessor.mean == clip.mean, relpath
        assert cfg.data_preprocessor.std == clip.std, relpath


def test_clip_statistics_are_written_once():
    spelled = []
    for root, _, files in os.walk(CONFIG_ROOT):
        for name in files:
            if name.endswith('.py'):
                with open(osp.join(root, name)) as f:
                    if '0.48145466' in f.read():
                        spelled.append(name)
    assert spelled == ['clip_normalize.py']


def test_sf_l_clip_leaves_have_the_released_token_count():
    """SF-L CLIP is released with 64 tokens (63 latent + [CLS]); the 64-token leaves, built on
    the SF-B CLIP bases, set SF-L's arch and that count."""
    for leaf in ('classification/sf-l_clip_in1k-zeroshot.py', 'retrieval/sf-l_clip_coco.py',
                 'retrieval/sf-l_clip_flickr30k.py', 'bootstrap/sf-l_clip.py'):
        backbone = Config.fromfile(osp.join(CONFIG_ROOT, leaf)).model.backbone
        assert (backbone.arch, backbone.num_latent_tokens) == ('l-clip', 63), leaf


# SparseFormer CLIP arch -> the OpenAI CLIP towers (teacher, text encoder) it goes with
_CLIP_TOWERS_OF_ARCH = {'b-clip': ('ViT-B-16', ), 'l-clip': ('ViT-L-14', 'ViT-L-14-336')}


@pytest.mark.parametrize('relpath', [p for p in LEAF_CONFIGS
                                     if re.search(r'sf-[bl]_clip', osp.basename(p))])
def test_sf_clip_towers_match_the_arch(relpath):
    """SF-L CLIP leaves override the SF-B CLIP bases: with the arch, they override every CLIP
    tower (a ViT-B/16 text tower under an SF-L would still build once shrunk)."""
    model = Config.fromfile(osp.join(REPO_ROOT, relpath)).model.to_dict()
    arch = model['backbone']['arch']
    towers = [n['model_name'] for n in _typed_dicts(model)
              if n['type'] in ('sfmm.OpenCLIPTeacher', 'sfmm.CLIPTextEncoder')]
    assert towers, f'{relpath}: no CLIP tower'
    assert all(t in _CLIP_TOWERS_OF_ARCH[arch] for t in towers), (relpath, arch, towers)


def _crop(pipeline) -> int:
    for t in pipeline:
        if t['type'] in ('CenterCrop', 'RandomResizedCrop'):
            return t.get('crop_size', t.get('scale'))
    raise AssertionError(f'no crop in {pipeline}')


@pytest.mark.parametrize('leaf', sorted(
    p for p in LEAF_CONFIGS if p.replace(os.sep, '/').startswith('configs/bootstrap/')))
def test_bootstrap_leaf_has_a_matching_eval_config(leaf):
    """Each bootstrap run is evaluated by a classification config with its student (tokens,
    arch) and its crop (the bootstrap's val crop for AugReg, its train crop for CLIP). The
    mapping is the one tools/analysis_tools/smoke_full_size.py uses."""
    from conftest import load_tool
    smoke = load_tool('tools/analysis_tools/smoke_full_size.py')
    rel = smoke._rel(osp.join(REPO_ROOT, leaf))
    boot = Config.fromfile(osp.join(REPO_ROOT, leaf))
    clip = boot.model.teacher.type == 'sfmm.OpenCLIPTeacher'
    ev = Config.fromfile(smoke._config_path(smoke.eval_config_of(rel, clip)))
    assert ev.model.backbone.num_latent_tokens == boot.model.backbone.num_latent_tokens
    if '/ablations/' not in leaf:
        assert ev.model.backbone.arch == boot.model.backbone.arch
    if clip:
        assert _crop(ev.test_dataloader.dataset.pipeline) == \
            _crop(boot.train_dataloader.dataset.pipeline)
        assert ev.model.head.text_encoder.model_name == boot.model.teacher.model_name
    else:
        assert _crop(ev.test_dataloader.dataset.pipeline) == \
            _crop(boot.val_dataloader.dataset.pipeline)
        resize = [[t for t in c.test_dataloader.dataset.pipeline if t['type'] == 'ResizeEdge']
                  for c in (ev, boot)]
        assert resize[0] == resize[1]


@pytest.mark.parametrize('relpath', LEAF_CONFIGS)
def test_cls_only_last_block_where_only_the_embedding_is_read(relpath):
    """A SparseFormer whose outputs end at 'embed' (classification, bootstrap, zero-shot,
    retrieval, demo) computes the [CLS] row of its last block alone; one that outputs tokens
    (segmentation) computes every row."""
    cfg = Config.fromfile(osp.join(REPO_ROOT, relpath))
    for node in _typed_dicts(cfg.model):
        if _type_name(node) != 'SparseFormer':
            continue
        token_outputs = 'tokens' in tuple(node.get('out_keys', ('embed', )))
        assert node.get('cls_only_last_block', False) is not token_outputs, relpath
