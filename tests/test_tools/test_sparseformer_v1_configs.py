"""The v1 SparseFormer classification configs: facts, params/FLOPs and a tools/test.py run."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from conftest import REPO_ROOT, load_tool

get_flops = load_tool('tools/analysis_tools/get_flops.py')

CONFIGS = {name: osp.join(REPO_ROOT, 'configs', 'classification', f'{name}_in1k.py')
           for name in ('sf-v1-t', 'sf-v1-s', 'sf-v1-b')}
# The released modules (showlab/sparseformer modelling.py, sparseformer_v1_{tiny,small,base})
# measured with fvcore at 224x224, one image: parameters and FLOPs without the biased mixing
# (fvcore has no handle for aten::baddbmm, nor for scaled-dot-product attention).
RELEASED = {'sf-v1-t': (31.52e6, 2.048e9, 49, 512), 'sf-v1-s': (47.58e6, 3.803e9, 64, 640),
            'sf-v1-b': (81.08e6, 7.698e9, 81, 768)}


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_config_facts(name):
    cfg = Config.fromfile(CONFIGS[name])
    _, _, tokens, width = RELEASED[name]
    backbone = cfg.model.backbone
    assert backbone.type == 'sfmm.SparseFormerV1'
    assert backbone.arch == {'sf-v1-t': 'tiny', 'sf-v1-s': 'small', 'sf-v1-b': 'base'}[name]
    from sfmm.models.backbones import SparseFormerV1
    assert SparseFormerV1.arch_zoo[backbone.arch]['num_latent_tokens'] == tokens
    assert backbone.out_keys == ('embed', )
    assert cfg.model.head.type == 'LinearClsHead'
    assert cfg.model.head.in_channels == width and cfg.model.head.num_classes == 1000
    # the released training code's evaluation transform (Swin codebase)
    assert cfg.data_preprocessor.mean == [123.675, 116.28, 103.53]
    assert cfg.data_preprocessor.std == [58.395, 57.12, 57.375]
    pipeline = cfg.test_dataloader.dataset.pipeline
    resize = [t for t in pipeline if t.type == 'ResizeEdge'][0]
    assert (resize.scale, resize.edge, resize.interpolation) == (256, 'short', 'bicubic')
    assert [t for t in pipeline if t.type == 'CenterCrop'][0].crop_size == 224
    assert cfg.test_dataloader.dataset.split == 'val'


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_params_and_flops_match_released(name):
    # full size on CPU: about 5-15 s per config
    params, flops, tokens, _ = RELEASED[name]
    measured, n_params, skipped = get_flops.get_flops(CONFIGS[name])
    assert n_params == pytest.approx(params, rel=1e-2)
    assert measured == pytest.approx(flops, rel=1e-2)
    assert skipped.get('aten::baddbmm') == 2 * 5  # two per mixing, 4 focusing repeats + 1
    if name == 'sf-v1-t':
        # --baddbmm count adds both mixings of the 5 sampling ops: N * P * C * (C + P_out)
        with_mixing, _, skipped = get_flops.get_flops(CONFIGS[name], baddbmm='count')
        assert with_mixing - measured == 5 * tokens * 36 * 96 * (96 + 36)
        assert 'aten::baddbmm' not in skipped


def test_get_flops_cli_baddbmm_option():
    args = get_flops.parse_args(['c.py'])
    assert args.baddbmm == 'skip'
    assert get_flops.parse_args(['c.py', '--baddbmm', 'count']).baddbmm == 'count'
    with pytest.raises(SystemExit):
        get_flops.parse_args(['c.py', '--baddbmm', 'maybe'])


def test_count_flops_baddbmm_modes():
    from sfmm.utils.flops import count_flops

    class Mix(torch.nn.Module):
        def forward(self, x):  # (2, 3, 4) @ (2, 4, 5) plus a bias
            return torch.baddbmm(torch.zeros(1, 1, 5), x, torch.ones(2, 4, 5))

    x = torch.randn(2, 3, 4)
    assert count_flops(Mix(), x)[0] == 0
    assert count_flops(Mix(), x, baddbmm='count')[0] == 2 * 3 * 4 * 5
    with pytest.raises(ValueError, match='baddbmm'):
        count_flops(Mix(), x, baddbmm='maybe')


def test_v1_config_evaluates_with_tools_test(tmp_path):
    """The real eval pipeline, preprocessor, head and metric run through tools/test.py."""
    from mmengine.registry import MODELS, init_default_scope

    from conftest import write_tiny_imagenet
    from test_configs import shrink_model_cfg
    data_root = write_tiny_imagenet(str(tmp_path / 'data'), per_class=2, splits=('val', ))
    leaf = CONFIGS['sf-v1-s']
    cfg = Config.fromfile(leaf)
    model_cfg = cfg.model.to_dict()
    shrink_model_cfg(model_cfg)
    model_cfg['head'].update(num_classes=2)
    init_default_scope(cfg.default_scope)
    torch.manual_seed(0)
    ckpt = str(tmp_path / 'tiny.pth')
    torch.save(dict(state_dict=MODELS.build(model_cfg).state_dict(), meta=dict()), ckpt)
    derived = tmp_path / 'sf-v1-s_tiny.py'
    derived.write_text(
        f'_base_ = [{leaf!r}]\n'
        f'model = {dict(model_cfg, _delete_=True)!r}\n'
        f'data_preprocessor = dict(num_classes=2)\n'
        f'test_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False, '
        f'dataset=dict(data_root={data_root!r}, classes=["a", "b"]))\n'
        f'test_evaluator = dict(topk=(1, ))\n')
    metrics = load_tool('tools/test.py').main(
        [str(derived), ckpt, '--work-dir', str(tmp_path / 'work')])
    assert 0. <= metrics['accuracy/top1'] <= 100.
