"""``import sfmm.timm``: the SparseFormers as timm models, their data configs and weights.

The truths are sfmm's own configs (backbone arguments, head, test pipeline and data
preprocessor, the parameter counts measured by tools/analysis_tools/get_flops.py in their
headers) and the sfmm models built from them; timm is only driven through its public API.
"""
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import pytest
import timm
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.runner.checkpoint import save_checkpoint, weights_to_cpu
from PIL import Image
from timm.data import create_transform, resolve_data_config

import sfmm.timm
from conftest import REPO_ROOT, load_tool, write_fake_fashion_mnist

DEMO = 'sparseformer_demo_fashion_16'
DEMO_CONFIG = 'configs/demo/sf-demo_fashion-canvas.py'
#: timm name -> the sfmm config whose model (and test pipeline) it is.
CONFIGS = {
    'sparseformer_b_augreg_49': 'classification/sf-b_augreg_in1k.py',
    'sparseformer_b_augreg_80': 'classification/sf-b_augreg_80tok_in1k.py',
    'sparseformer_b_augreg_320_80': 'classification/sf-b_augreg_80tok-320px_in1k.py',
    'sparseformer_b_augreg_320_100': 'classification/sf-b_augreg_100tok-320px_in1k.py',
    'sparseformer_l_augreg_49': 'classification/sf-l_augreg_in1k.py',
    'sparseformer_l_augreg_80': 'classification/sf-l_augreg_80tok_in1k.py',
    'sparseformer_l_augreg_320_80': 'classification/sf-l_augreg_80tok-320px_in1k.py',
    'sparseformer_l_augreg_320_100': 'classification/sf-l_augreg_100tok-320px_in1k.py',
    'sparseformer_l_augreg_384_49': 'classification/sf-l_augreg-384_in1k.py',
    'sparseformer_l_augreg_384_144': 'classification/sf-l_augreg-384_144tok_in1k.py',
    'sparseformer_l_augreg_384_196': 'classification/sf-l_augreg-384_196tok_in1k.py',
    'sparseformer_b_clip_49': 'classification/sf-b_clip_in1k-zeroshot.py',
    'sparseformer_l_clip_64': 'classification/sf-l_clip_in1k-zeroshot.py',
    'sparseformer_l_clip_128': 'classification/sf-l_clip_128tok_in1k-zeroshot.py',
    'sparseformer_l_clip_336_144': 'classification/sf-l_clip-336_in1k-zeroshot.py',
    'sparseformer_v1_tiny': 'classification/sf-v1-t_in1k.py',
    'sparseformer_v1_small': 'classification/sf-v1-s_in1k.py',
    'sparseformer_v1_base': 'classification/sf-v1-b_in1k.py',
    DEMO: 'demo/sf-demo_fashion-canvas.py',
}


def _config(rel: str) -> Config:
    return Config.fromfile(osp.join(REPO_ROOT, 'configs', rel))


def _measured_params(rel: str) -> float:
    """The parameter count (M) in the config's ``# measured:`` header line."""
    with open(osp.join(REPO_ROOT, 'configs', rel)) as f:
        match = re.search(r'^# measured: ([\d.]+) ?M', f.read(), re.M)
    assert match, f'{rel} has no "# measured: <params> M" header'
    return float(match.group(1))


def _save_like_runner(model: torch.nn.Module, path: str) -> None:
    """What mmengine's ``Runner.save_checkpoint`` writes: meta, the state dict, the message
    hub (``HistoryBuffer`` scalars, NumPy info), optimizer and scheduler states."""
    hub = MessageHub.get_instance('sfmm_test_timm_ckpt')
    for v in (2.0, 1.5, 1.25):
        hub.update_scalar('train/loss', v)
    hub.update_info('epoch_np', np.float64(8.0))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    checkpoint = dict(
        meta=dict(epoch=8, iter=80, cfg='model = dict()', seed=0, experiment_name='x',
                  dataset_meta=dict(classes=('tshirt', 'trouser'))),
        state_dict=weights_to_cpu(model.state_dict()),
        message_hub=hub.state_dict(),
        optimizer=optimizer.state_dict(),
        param_schedulers=[dict(last_step=80, base_lrs=[1e-3])])
    save_checkpoint(checkpoint, path)


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    """The demo config's sfmm model (random, seeded), its runner-style checkpoint, fake
    canvases and the config's test dataloader on them."""
    from mmengine.runner import Runner

    from sfmm.datasets.fashion_canvases import FashionCanvases
    from sfmm.utils.model_builder import build_model_from_cfg

    tmp = tmp_path_factory.mktemp('timm_demo')
    write_fake_fashion_mnist(str(tmp / 'fm'), n_train=4, n_test=16)
    root = str(tmp / 'canvas')
    FashionCanvases(folder=str(tmp / 'fm')).write_imagenet(root, 4, 16)
    cfg = Config.fromfile(osp.join(REPO_ROOT, DEMO_CONFIG))
    # as mmengine's Runner does: the config's data_preprocessor goes into the model
    cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    torch.manual_seed(0)
    model = build_model_from_cfg(cfg)
    ckpt = str(tmp / 'student.pth')
    _save_like_runner(model, ckpt)
    loader_cfg = cfg.test_dataloader
    loader_cfg.dataset.data_root = root
    loader_cfg.batch_size = 16
    loader = Runner.build_dataloader(loader_cfg)
    batch = next(iter(loader))
    return dict(cfg=cfg, model=model, ckpt=ckpt, root=root, batch=batch, tmp=tmp)


@pytest.fixture(scope='module')
def demo_timm(demo):
    return timm.create_model(DEMO, pretrained=True,
                             pretrained_cfg_overlay=dict(file=demo['ckpt'])).eval()


def _sfmm_logits(model, x):
    with torch.no_grad():
        return model(x, mode='tensor')


# ----------------------------------------------------------------------------- registry
def test_every_name_is_registered():
    assert set(sfmm.timm.MODEL_NAMES) == set(CONFIGS)
    listed = timm.list_models('sparseformer*')
    assert set(CONFIGS) <= set(listed)
    for name in CONFIGS:
        assert timm.is_model(name)
        cfg = timm.models.get_pretrained_cfg(name)
        assert cfg.url is None and cfg.hf_hub_id is None and cfg.file is None  # never fetched
        assert cfg.first_conv == 'backbone.stem.conv' and cfg.classifier == 'head'
        assert cfg.paper_ids and cfg.description == f'sfmm configs/{CONFIGS[name]}'


@pytest.mark.parametrize('name', [n for n in CONFIGS if n != DEMO])
def test_meta_build_matches_config(name):
    """Built on the meta device: the config's backbone arguments, head and the parameter
    count get_flops.py measured on the config's model."""
    rel = CONFIGS[name]
    model_cfg = _config(rel).model
    model = timm.create_model(name, device='meta')
    assert next(model.parameters()).device.type == 'meta'
    backbone = dict(model_cfg.backbone)
    assert backbone.pop('type') == 'sfmm.' + sfmm.timm.BACKBONES[name]['type']
    ours = {k: v for k, v in sfmm.timm.BACKBONES[name].items() if k != 'type'}
    assert {k: tuple(v) if isinstance(v, list) else v for k, v in backbone.items()} == ours
    head = model_cfg.head
    if head.type == 'LinearClsHead':
        assert (model.num_classes, model.num_features) == (head.num_classes, head.in_channels)
        assert model.get_classifier().out_features == head.num_classes
    else:  # CLIP zero-shot: the image tower's embedding, no classifier
        assert head.type == 'sfmm.ZeroShotClsHead' and model.num_classes == 0
        assert isinstance(model.get_classifier(), torch.nn.Identity)
        assert model.num_features == model.backbone.arch_settings['proj_dims']
    params = sum(p.numel() for p in model.parameters()) / 1e6
    assert round(params, 2) == _measured_params(rel)


def _sfmm_pipeline_tensor(cfg: Config, path: str) -> torch.Tensor:
    """The config's test pipeline + data preprocessor on one image file."""
    from mmengine.dataset import Compose
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS

    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        pipeline = Compose(cfg.test_dataloader.dataset.pipeline)
        pre = MODELS.build(dict(type='ClsDataPreprocessor', **cfg.data_preprocessor))
        packed = pipeline(dict(img_path=path))
        data = pre(dict(inputs=[packed['inputs']], data_samples=[packed['data_samples']]))
    return data['inputs'][0]


@pytest.mark.parametrize('name', list(CONFIGS))
def test_data_config_reproduces_config_pipeline(name, tmp_path):
    """timm's eval transform from the pretrained cfg = the config's test pipeline and
    normalisation, on a non-square image (resize of the shorter side, centre crop)."""
    cfg = _config(CONFIGS[name])
    data_cfg = resolve_data_config({}, pretrained_cfg=timm.models.get_pretrained_cfg(
        name).to_dict())
    pre = cfg.data_preprocessor
    np.testing.assert_allclose(data_cfg['mean'], np.array(pre.mean) / 255, rtol=1e-6)
    np.testing.assert_allclose(data_cfg['std'], np.array(pre.std) / 255, rtol=1e-6)
    size = data_cfg['input_size'][1]
    h, w = (size, size) if name == DEMO else (size + 41, size + 93)
    rng = np.random.default_rng(0)
    path = str(tmp_path / 'img.png')
    Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path)
    expected = _sfmm_pipeline_tensor(cfg, path)
    assert tuple(expected.shape) == tuple(data_cfg['input_size'])
    with Image.open(path) as img:
        ours = create_transform(**data_cfg)(img.convert('RGB'))
    torch.testing.assert_close(ours, expected, atol=1e-5, rtol=0)


# ----------------------------------------------------------------------------- the demo
def test_demo_round_trip_logits(demo, demo_timm):
    sf, model = demo['model'], demo_timm
    assert sum(p.numel() for p in model.parameters()) == sum(
        p.numel() for p in sf.parameters())
    torch.manual_seed(1)
    x = torch.randn(3, 3, 64, 64)
    expected = _sfmm_logits(sf, x)
    with torch.no_grad():
        logits = model(x)
        feats = model.forward_features(x)
    torch.testing.assert_close(logits, expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(model.forward_head(feats, pre_logits=True), feats)
    assert feats.shape == (3, model.num_features) == (3, 128)
    cfg = resolve_data_config({}, model=model)
    assert cfg == dict(input_size=(3, 64, 64), interpolation='bicubic', mean=(0.5, ) * 3,
                       std=(0.5, ) * 3, crop_pct=1.0, crop_mode='center')
    assert model.default_cfg is model.pretrained_cfg
    assert model.pretrained_cfg['label_names'] == tuple(demo['cfg'].classes)


def test_demo_transform_and_top1_match_sfmm(demo, demo_timm):
    sf, batch = demo['model'], demo['batch']
    with torch.no_grad():
        data = sf.data_preprocessor(batch, False)
        preds = sf.test_step(batch)
    paths = [s.img_path for s in batch['data_samples']]
    transform = create_transform(**resolve_data_config({}, model=demo_timm))
    ours = []
    for path in paths:
        with Image.open(path) as img:
            ours.append(transform(img.convert('RGB')))
    ours = torch.stack(ours)
    torch.testing.assert_close(ours, data['inputs'], atol=1e-5, rtol=0)
    with torch.no_grad():
        timm_pred = demo_timm(ours).argmax(1)
    sfmm_pred = torch.stack([p.pred_label for p in preds]).flatten()
    labels = torch.stack([p.gt_label for p in preds]).flatten()
    assert torch.equal(timm_pred, sfmm_pred)
    demo['sfmm_top1'] = (100. * (sfmm_pred == labels).float().mean().item(),
                         int((sfmm_pred == labels).sum()), len(labels))


def test_timm_eval_tool_prints_sfmm_top1(demo, demo_timm, capsys):
    if 'sfmm_top1' not in demo:
        test_demo_transform_and_top1_match_sfmm(demo, demo_timm)
    top1, correct, total = demo['sfmm_top1']
    tool = load_tool('tools/analysis_tools/timm_eval.py')
    tool.main([DEMO, '--checkpoint', demo['ckpt'], '--data-root',
               osp.join(demo['root'], 'val'), '--ann-file',
               osp.join(demo['root'], 'meta', 'val.txt'), '--batch-size', '5',
               '--num-threads', '1'])
    out = capsys.readouterr().out
    assert f'top-1: {top1:.4f} ({correct}/{total} images)' in out, out


def test_plain_safetensors_and_sfmm_reader_load_the_same(demo, demo_timm):
    from safetensors.torch import save_file
    state = {k: v.contiguous() for k, v in demo['model'].state_dict().items()}
    plain, st = str(demo['tmp'] / 'plain.pth'), str(demo['tmp'] / 'plain.safetensors')
    torch.save(state, plain)
    save_file(state, st)
    own = demo_timm.state_dict()
    for overlay in (dict(file=plain), dict(file=st), dict(file=demo['ckpt'], custom_load=True)):
        model = timm.create_model(DEMO, pretrained=True, pretrained_cfg_overlay=overlay)
        for k, v in model.state_dict().items():
            assert torch.equal(v, own[k]), (overlay, k)


def test_new_class_count_keeps_backbone_and_resets_head(demo, demo_timm):
    model = timm.create_model(DEMO, pretrained=True, num_classes=4,
                              pretrained_cfg_overlay=dict(file=demo['ckpt']))
    assert model.get_classifier().out_features == 4
    own = demo_timm.state_dict()
    assert all(torch.equal(v, own[k]) for k, v in model.state_dict().items()
               if k.startswith('backbone.'))
    model.reset_classifier(0)
    assert model(torch.zeros(1, 3, 64, 64)).shape == (1, 128)
    with pytest.raises(ValueError, match='global_pool'):
        model.reset_classifier(3, global_pool='avg')


def test_mismatched_checkpoints_raise_naming_file_and_keys(demo, tmp_path):
    state = demo['model'].state_dict()
    bad = dict(state)
    bad.pop('backbone.cls_token.weight')
    bad['backbone.extra.weight'] = torch.zeros(1)
    path = str(tmp_path / 'bad_keys.pth')
    torch.save(dict(state_dict=bad), path)
    with pytest.raises(KeyError) as err:
        timm.create_model(DEMO, pretrained=True, pretrained_cfg_overlay=dict(file=path))
    msg = str(err.value)
    assert path in msg and 'backbone.cls_token.weight' in msg and 'backbone.extra.weight' in msg
    # a classifier for another class count, loaded at the cfg's class count
    other = dict(state)
    other['head.fc.weight'], other['head.fc.bias'] = torch.zeros(5, 128), torch.zeros(5)
    path = str(tmp_path / 'five_classes.pth')
    torch.save(other, path)
    with pytest.raises(ValueError, match=r'head\.weight.*num_classes') as err:
        timm.create_model(DEMO, pretrained=True, pretrained_cfg_overlay=dict(file=path))
    assert path in str(err.value)


def test_timm_loader_needs_and_gets_the_allow_list(demo):
    """timm's own ``load_state_dict`` refuses a runner checkpoint without the allow-list
    and reads it in a fresh process that has only imported sfmm.timm."""
    from mmengine.logging import HistoryBuffer
    assert HistoryBuffer in torch.serialization.get_safe_globals()
    registered = list(torch.serialization.get_safe_globals())
    torch.serialization.clear_safe_globals()
    try:
        with pytest.raises(RuntimeError, match='HistoryBuffer'):
            timm.models.load_state_dict(demo['ckpt'])
    finally:
        torch.serialization.add_safe_globals(registered)
    code = ('import timm, sfmm.timm, sys; '
            'sd = timm.models.load_state_dict(sys.argv[1]); print(len(sd))')
    out = subprocess.run([sys.executable, '-c', code, demo['ckpt']], capture_output=True,
                         text=True, timeout=120, cwd=REPO_ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert int(out.stdout.split()[-1]) == len(demo['model'].state_dict())


# ----------------------------------------------------------------------------- a full arch
def test_augreg_classifier_logits_match_sfmm_at_64px():
    """SF-B AugReg as the config builds it (sfmm SparseFormer + LinearClsHead) and as timm
    builds it from the same weights: equal logits on a small input."""
    from sfmm.utils.model_builder import build_model_from_cfg
    name = 'sparseformer_b_augreg_49'
    torch.manual_seed(0)
    sf = build_model_from_cfg(_config(CONFIGS[name]))
    state = weights_to_cpu(sf.state_dict())
    model = timm.create_model(name, pretrained=True,
                              pretrained_cfg_overlay=dict(state_dict=state)).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        logits = model(x)
    torch.testing.assert_close(logits, _sfmm_logits(sf, x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('name, proj_as', [('sparseformer_v1_tiny', None),
                                           ('sparseformer_b_augreg_49', 'head'),
                                           ('sparseformer_b_clip_49', 'backbone')])
def test_filter_converts_released_layouts(name, proj_as):
    """A released showlab/sparseformer state dict (keys from sfmm's released -> sfmm key
    maps, meta tensors of the model's shapes) is converted and matches every model key."""
    from sfmm.models.utils import official_key_map, official_v1_key_map
    model = timm.create_model(name, device='meta')
    as_sfmm = {('head.fc.' + k[5:] if k.startswith('head.') else k): v
               for k, v in model.state_dict().items()}
    blocks = len(model.backbone.blocks)
    mapping = official_v1_key_map(blocks) if proj_as is None else official_key_map(
        blocks, proj_as)
    released = {src: as_sfmm[dst] for src, dst in mapping.items()}
    assert set(mapping.values()) == set(as_sfmm)
    out = sfmm.timm.checkpoint_filter_fn(released, model)
    assert set(out) == set(model.state_dict())
