"""The OpenMMLab stack imports and builds on this torch/NumPy (compiled mmcv ops included)."""
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope


def test_stack_imports():
    import mmcv.ops
    import mmpretrain.models  # noqa: F401
    import mmseg.models  # noqa: F401
    import open_clip  # noqa: F401

    # a compiled op really runs (not just the Python wrapper)
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.], [50., 50., 60., 60.]])
    keep = mmcv.ops.nms(boxes, torch.tensor([0.9, 0.8, 0.7]), iou_threshold=0.5)[1]
    assert keep.tolist() == [0, 2]


def test_build_mmseg_encoder_decoder():
    from mmseg.registry import MODELS
    cfg = Config(dict(
        default_scope='mmseg',
        model=dict(
            type='EncoderDecoder',
            data_preprocessor=dict(type='SegDataPreProcessor', mean=[0., 0., 0.],
                                   std=[1., 1., 1.], size=(64, 64)),
            backbone=dict(type='VisionTransformer', img_size=(64, 64), patch_size=16,
                          embed_dims=32, num_layers=2, num_heads=2, out_indices=(1,)),
            decode_head=dict(type='FCNHead', in_channels=32, channels=16, num_convs=1,
                             num_classes=3, in_index=0,
                             loss_decode=dict(type='CrossEntropyLoss')),
            test_cfg=dict(mode='whole'))))
    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model)
    out = model(torch.rand(1, 3, 64, 64), mode='tensor')
    assert out.shape == (1, 3, 4, 4)


def test_build_mmpretrain_image_classifier():
    from mmpretrain.registry import MODELS
    cfg = Config(dict(
        default_scope='mmpretrain',
        model=dict(
            type='ImageClassifier',
            backbone=dict(type='VisionTransformer', img_size=64, patch_size=16,
                          arch=dict(embed_dims=32, num_layers=2, num_heads=2,
                                    feedforward_channels=64)),
            neck=None,
            head=dict(type='VisionTransformerClsHead', num_classes=5, in_channels=32))))
    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model)
    out = model(torch.rand(2, 3, 64, 64), mode='tensor')
    assert out.shape == (2, 5)
