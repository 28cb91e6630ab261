"""The released-checkpoint converter on v1 SparseFormer state dicts (function, loading, CLI)."""
from typing import Dict

import pytest
import torch

from conftest import load_tool
from sfmm.models.backbones import SparseFormer, SparseFormerV1
from sfmm.models.utils import (convert_sparseformer_official, is_sparseformer_official,
                               is_sparseformer_v1_official, official_v1_key_map)

tool = load_tool('tools/model_converters/sparseformer_official.py')

# tiny sizes: focusing width, cortex width, conv channels, points, tokens, plain blocks
DF, D, C, P, N, BLOCKS, CLASSES = 64, 128, 8, 4, 4, 2, 10


def _released_v1_shapes(Df: int = DF, D: int = D, C: int = C, P: int = P, N: int = N,
                        blocks: int = BLOCKS, classes: int = CLASSES) -> Dict[str, tuple]:
    """Key -> shape of a released ``SparseFormer(**sparseformer_v1_*())`` state dict.

    Written from the released modules (showlab/sparseformer ``modelling.py``): ``SFUnit``
    with ops ATTN, ROI_ADJ, SAMPLING_M, MLP (timm ``Attention``/``Mlp``; ``AdaptiveMixing``
    with mixing biases and ``pg_inner_dim=.25``; ``type_op_adjust=1``), a transition
    ``Sequential(Linear, LayerNorm)``, plain ATTN, MLP units, ``norm`` and ``proj``.
    """
    Po = max(P, 32)

    def block(prefix, d):
        return {f'{prefix}.norm1.weight': (d, ), f'{prefix}.norm1.bias': (d, ),
                f'{prefix}.attn.qkv.weight': (3 * d, d), f'{prefix}.attn.qkv.bias': (3 * d, ),
                f'{prefix}.attn.proj.weight': (d, d), f'{prefix}.attn.proj.bias': (d, ),
                f'{prefix}.norm2.weight': (d, ), f'{prefix}.norm2.bias': (d, ),
                f'{prefix}.mlp.fc1.weight': (4 * d, d), f'{prefix}.mlp.fc1.bias': (4 * d, ),
                f'{prefix}.mlp.fc2.weight': (d, 4 * d), f'{prefix}.mlp.fc2.bias': (d, )}

    def unit(prefix, d):
        am, pg = f'{prefix}.adaptive_mixing', int(0.25 * d)
        return {**block(prefix, d),
                f'{prefix}.roi_adjust_module.0.weight': (d, ),
                f'{prefix}.roi_adjust_module.0.bias': (d, ),
                f'{prefix}.roi_adjust_module.1.weight': (4, d),
                f'{prefix}.roi_offset_module.0.weight': (d, ),
                f'{prefix}.roi_offset_module.0.bias': (d, ),
                f'{prefix}.roi_offset_module.1.weight': (2 * P, d),
                f'{prefix}.roi_offset_bias': (2 * P, ),
                f'{am}.parameter_generator.0.weight': (d, ),
                f'{am}.parameter_generator.0.bias': (d, ),
                f'{am}.parameter_generator.1.weight': (pg, d),
                f'{am}.parameter_generator.1.bias': (pg, ),
                f'{am}.parameter_generator.2.weight': (C * C + P * Po, pg),
                f'{am}.parameter_generator.2.bias': (C * C + P * Po, ),
                f'{am}.m_beta': (C, ), f'{am}.s_beta': (Po, ),
                f'{am}.out_proj.weight': (d, C * Po), f'{am}.out_proj.bias': (d, )}

    shapes = {'feat_extractor.conv1.weight': (C, 3, 7, 7), 'feat_extractor.conv1.bias': (C, ),
              'initial_roi.weight': (N, 4), 'initial_embedding.weight': (N, Df),
              **unit('layers.0', Df),
              'layers.1.0.weight': (D, Df), 'layers.1.0.bias': (D, ),
              'layers.1.1.weight': (D, ), 'layers.1.1.bias': (D, ),
              **unit('layers.2', D),
              'norm.weight': (D, ), 'norm.bias': (D, ),
              'proj.weight': (classes, D), 'proj.bias': (classes, )}
    for k in range(blocks):
        shapes.update(block(f'layers.{3 + k}', D))
    return shapes


def released_v1_state_dict(seed: int = 0, **kwargs) -> Dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {k: torch.randn(s, generator=g) * 0.1
            for k, s in _released_v1_shapes(**kwargs).items()}


def _model(**kwargs) -> SparseFormerV1:
    arch = dict(focus_dims=DF, embed_dims=D, num_layers=BLOCKS + 1, num_heads=64)
    return SparseFormerV1(arch, num_latent_tokens=N, num_points=P, conv_channels=C,
                          focus_repeats=2, **kwargs)


def test_every_key_mapped_and_loadable():
    sd = released_v1_state_dict()
    assert is_sparseformer_official(sd) and is_sparseformer_v1_official(sd)
    out = convert_sparseformer_official(sd)
    assert len(out) == len(sd)
    backbone = {k[9:]: v for k, v in out.items() if k.startswith('backbone.')}
    _model().load_state_dict(backbone, strict=True)  # nothing missing, nothing extra
    head = {k: v for k, v in out.items() if not k.startswith('backbone.')}
    assert set(head) == {'head.fc.weight', 'head.fc.bias'}
    assert head['head.fc.weight'] is sd['proj.weight']
    assert out['backbone.transition_norm.weight'] is sd['layers.1.1.weight']
    assert out['backbone.final.sampling.channel_bias'] is sd['layers.2.adaptive_mixing.m_beta']
    assert out['backbone.focus.sampling.spatial_bias'] is sd['layers.0.adaptive_mixing.s_beta']
    assert out['backbone.focus.roi_adjust.fc.weight'] is sd['layers.0.roi_adjust_module.1.weight']
    assert out['backbone.blocks.1.attn.qkv.bias'] is sd['layers.4.attn.qkv.bias']
    assert out['backbone.init_embed.weight'] is sd['initial_embedding.weight']


@pytest.mark.parametrize('blocks,classes', [(0, 1000), (1, 3), (9, 10)])
def test_depth_and_classifier_size_are_read_from_the_keys(blocks, classes):
    shapes = _released_v1_shapes(blocks=blocks, classes=classes)
    sd = {k: torch.zeros(s) for k, s in shapes.items()}
    out = convert_sparseformer_official({'model': sd})
    assert out['head.fc.weight'].shape == (classes, D)
    assert sum(k.startswith('backbone.blocks.') for k in out) == 12 * blocks


def test_bootstrapped_layout_is_not_v1():
    boot = SparseFormer(dict(focus_dims=64, embed_dims=128, num_layers=1, num_heads=2),
                        num_latent_tokens=4, num_points=4, conv_channels=8, focus_repeats=2)
    assert not is_sparseformer_v1_official(boot.state_dict())
    assert not is_sparseformer_v1_official(_model().state_dict())


def test_missing_and_unknown_keys_are_listed():
    sd = released_v1_state_dict()
    del sd['layers.2.adaptive_mixing.s_beta']
    sd['layers.0.stage_embedding.weight'] = torch.zeros(4, DF)
    with pytest.raises(KeyError, match=r'v1 SparseFormer.*unknown keys '
                       r'\[.layers\.0\.stage_embedding\.weight.\], missing keys '
                       r'\[.layers\.2\.adaptive_mixing\.s_beta.\]'):
        convert_sparseformer_official(sd)
    sd = released_v1_state_dict()
    sd['cls_embedding.weight'] = torch.zeros(1, D)
    with pytest.raises(KeyError, match='cls_embedding.weight'):
        convert_sparseformer_official(sd)
    with pytest.raises(ValueError, match='proj_as'):
        convert_sparseformer_official(released_v1_state_dict(), proj_as='backbone')


def test_key_map_is_one_to_one():
    mapping = official_v1_key_map(9)
    assert len(set(mapping.values())) == len(mapping)
    assert set(mapping) == set(_released_v1_shapes(blocks=9))


def test_backbone_loads_released_file_strictly(tmp_path):
    sd = released_v1_state_dict()
    path = str(tmp_path / 'sparseformer_v1_tiny_converted.pth')
    torch.save({'model': sd}, path)
    model = _model(init_cfg=dict(type='Pretrained', checkpoint=path))
    model.init_weights()
    torch.testing.assert_close(model.final.sampling.param_fc2.bias,
                               sd['layers.2.adaptive_mixing.parameter_generator.2.bias'])
    torch.testing.assert_close(model.blocks[0].mlp.fc2.weight, sd['layers.3.mlp.fc2.weight'])
    out, = model.eval()(torch.randn(1, 3, 32, 32))
    assert torch.isfinite(out).all()
    # a released file with a different depth fails loudly, naming the keys
    del sd['layers.4.norm1.weight']
    torch.save(sd, path)
    with pytest.raises(KeyError, match=r'layers\.4\.norm1\.weight'):
        _model(init_cfg=dict(type='Pretrained', checkpoint=path)).init_weights()


def test_cli_converts_v1(tmp_path):
    sd = released_v1_state_dict()
    src, dst = tmp_path / 'released.pth', tmp_path / 'out' / 'sf-v1.pth'
    torch.save({'model': sd}, str(src))
    tool.main([str(src), str(dst)])
    saved = torch.load(str(dst), map_location='cpu')
    assert len(saved['state_dict']) == len(sd)
    torch.testing.assert_close(saved['state_dict']['head.fc.bias'], sd['proj.bias'])
    model = _model(init_cfg=dict(type='Pretrained', checkpoint=str(dst), prefix='backbone.'))
    model.init_weights()
    torch.testing.assert_close(model.stem.conv.weight, sd['feat_extractor.conv1.weight'])
