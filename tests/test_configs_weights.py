"""Every config's model gets its weights through sfmm.weights, strictly.

For each leaf config under configs/:

- the static rules: checkpoints are named only by ``init_cfg=dict(type='sfmm.Pretrained',
  checkpoint=...)`` (no ``checkpoint=``, ``text_checkpoint=``, ``student_checkpoint=`` or
  ``pretrained=`` anywhere in the model), every teacher and text encoder has one, and the
  runner is ``sfmm.Runner`` (strict ``load_from`` / ``--resume``);
- the dynamic check: the shrunk model (tests/test_configs.py's rules) is built once to write
  every file its ``init_cfg`` s name, in the layout of that file (a bootstrap checkpoint, a timm
  state dict, a full CLIP state dict ...), under tmp_path; a second, differently seeded build
  then runs ``init_weights()`` and every module with a file must have loaded it through
  :func:`sfmm.weights.load_strict` (recorded by :func:`sfmm.weights.record_loads`), with the
  file's values; finally the whole state dict loads back as ``load_from`` does.
"""
import copy
import os.path as osp
from typing import Dict, List, Tuple

import pytest
import torch
from mmengine.config import Config

from conftest import REPO_ROOT
from test_configs import LEAF_CONFIGS, shrink_model_cfg

LEGACY_WEIGHT_KEYS = ('checkpoint', 'text_checkpoint', 'student_checkpoint', 'pretrained')
OWN_FILE_TYPES = ('sfmm.TimmViTTeacher', 'sfmm.OpenCLIPTeacher', 'sfmm.MMPretrainViTTeacher',
                  'sfmm.CLIPTextEncoder')


def _walk(node, path=''):
    """(path, dict) for every dict in a config tree."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, f'{path}.{key}' if path else key)
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _walk(value, f'{path}[{i}]')


def _load(relpath: str) -> Config:
    return Config.fromfile(osp.join(REPO_ROOT, relpath))


@pytest.mark.parametrize('relpath', LEAF_CONFIGS)
def test_weights_are_named_only_by_strict_init_cfg(relpath):
    cfg = _load(relpath)
    assert cfg.get('runner_type') == 'sfmm.Runner', \
        f'{relpath}: load_from / --resume must go through sfmm.Runner (strict)'
    model = cfg.model.to_dict()
    for path, node in _walk(model):
        if path.endswith('init_cfg'):
            for init in ([node] if 'type' in node else []):
                if 'checkpoint' in init:
                    assert init['type'] == 'sfmm.Pretrained', f'{relpath}: {path} {init}'
            continue
        for key in LEGACY_WEIGHT_KEYS:
            assert node.get(key) is None or path.endswith('init_cfg'), \
                f'{relpath}: {path}.{key}: weights come from init_cfg=sfmm.Pretrained'
        init = node.get('init_cfg')
        if isinstance(init, list):
            assert not any('checkpoint' in i for i in init), f'{relpath}: {path}'
        if node.get('type') in OWN_FILE_TYPES:
            assert isinstance(init, dict) and init.get('checkpoint'), \
                f'{relpath}: {path} ({node["type"]}) has no weight file'


# ----------------------------------------------------------------------------- dynamic
def _export(module) -> Dict[str, torch.Tensor]:
    """``module``'s weights in the layout of the file its ``init_cfg`` reads."""
    kind = type(module).__name__
    if kind == 'TimmViTTeacher':
        return module.model.state_dict()  # a timm state dict
    if kind == 'OpenCLIPTeacher':
        return {f'visual.{k}': v for k, v in module.visual.state_dict().items()}
    if kind == 'CLIPTextEncoder':  # the text half of a full CLIP state dict
        state = {k[len('tower.'):]: v for k, v in module.state_dict().items()
                 if k.startswith('tower.')}
        return dict(state, logit_scale=module.logit_scale)
    return module.state_dict()


def _with_file_weights(model_cfg: dict) -> List[Tuple[str, dict]]:
    """(path, init_cfg) of every init_cfg with a checkpoint (mutable, in place)."""
    return [(path, node['init_cfg']) for path, node in _walk(model_cfg)
            if isinstance(node.get('init_cfg'), dict) and 'checkpoint' in node['init_cfg']]


def _perturb(module, scale=0.05):
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn_like(p) * scale)


def _build(cfg: Config, model_cfg: dict, seed: int):
    from mmengine.registry import MODELS, init_default_scope
    init_default_scope(cfg.default_scope)
    torch.manual_seed(seed)
    model_cfg = copy.deepcopy(model_cfg)
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor.to_dict())
    return MODELS.build(model_cfg)


@pytest.mark.parametrize('relpath', LEAF_CONFIGS)
def test_every_file_of_the_model_is_loaded_strictly(relpath, tmp_path):
    from sfmm.registry import MODELS as SFMM_MODELS
    from sfmm.weights import load_model_state, record_loads

    cfg = _load(relpath)
    model_cfg = cfg.model.to_dict()
    shrink_model_cfg(model_cfg)
    for _, node in _walk(model_cfg):
        if node.get('type') == 'sfmm.ZeroShotClsHead':  # 2 classes x 1 prompt encode quickly
            node.update(classnames=['a', 'b'], templates=['a photo of {}.'])
        if node.get('type') == 'sfmm.MMPretrainViTTeacher':  # the student's MLP ratio (4)
            node['arch']['feedforward_channels'] = 4 * node['arch']['embed_dims']
    files = _with_file_weights(model_cfg)  # none: the weights come from load_from (step 3)

    # 1. the files: a source model's weights (perturbed) in each file's own layout
    source_cfg = copy.deepcopy(model_cfg)
    for path, _ in _with_file_weights(source_cfg):  # no file: the constructor's init
        dict(_walk(source_cfg))[path]['init_cfg'] = None
    source = _build(cfg, source_cfg, seed=1)
    _perturb(source)
    named = dict(source.named_modules())
    contents: Dict[str, Dict[str, torch.Tensor]] = {}
    expected: List[Tuple[str, str]] = []
    for path, init in files:
        target = init['checkpoint']
        if path.split('.')[-1] == 'text_encoder':  # built by its holder, outside the tree
            holder = named[path[:-len('text_encoder')].rstrip('.')]
            enc_cfg = copy.deepcopy(holder.text_encoder_cfg)
            enc_cfg.pop('init_cfg', None)
            torch.manual_seed(2)
            module = SFMM_MODELS.build(enc_cfg)
            _perturb(module)
        else:
            module = named[path]
        prefix = init.get('prefix') or ''
        state = {prefix + k: v.detach().clone() for k, v in _export(module).items()}
        contents.setdefault(target, {}).update(state)
        expected.append((type(module).__name__, target))
    written = {}
    for i, (target, state) in enumerate(sorted(contents.items())):
        written[target] = str(tmp_path / f'file{i}_{osp.basename(target)}')
        if target.endswith('.safetensors'):  # in the format its extension names
            from safetensors.torch import save_file
            save_file({k: v.contiguous() for k, v in state.items()}, written[target])
        else:
            torch.save(dict(state_dict=state, meta=dict()), written[target])
    for _, init in files:
        init['checkpoint'] = written[init['checkpoint']]
    expected = sorted((kind, written[target]) for kind, target in expected)

    # 2. a differently seeded build reads every file through the weights layer, strictly
    model = _build(cfg, model_cfg, seed=3)
    with record_loads() as loads:
        model.init_weights()
    from_files = sorted((r.module, r.source) for r in loads if r.source in written.values())
    assert from_files == expected, f'{relpath}: loads {from_files}, expected {expected}'
    assert all(r.strict for r in loads)
    for r in loads:
        if r.source not in written.values():  # the algorithm's own step: teacher -> student
            assert r.module == 'Bootstrapper' and 'Teacher' in r.source, r
    loaded = dict(model.named_modules())
    for path, init in files:
        if path.split('.')[-1] == 'text_encoder':
            continue  # built, read and freed inside its holder (its load is checked above)
        got, want = loaded[path].state_dict(), named[path].state_dict()
        kept = {k for r in loads if r.source == init['checkpoint'] for k in r.kept}
        for key, value in want.items():
            if key not in kept:
                assert torch.equal(got[key], value), f'{relpath}: {path}.{key}'

    # 3. load_from: the model's own state dict loads back strictly (what sfmm.Runner does)
    ckpt = str(tmp_path / 'model.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), ckpt)
    with record_loads() as loads:
        load_model_state(model, torch.load(ckpt, weights_only=True), ckpt)
    assert [(r.module, r.strict) for r in loads] == [(type(model).__name__, True)]
