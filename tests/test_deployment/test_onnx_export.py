"""sfmm.deployment (ONNX export, ONNX Runtime runner) and tools/deployment/pytorch2onnx.py.

Three tiny models are exported once per module (export takes seconds each on a CPU): the demo
SparseFormer classifier (through the CLI, from a saved checkpoint, with a dynamic batch), a
CLIP-style zero-shot image tower (through the API, with the embedding output) and the demo
segmenter (through the CLI, from a saved checkpoint). ONNX Runtime's outputs are compared
with PyTorch's and, for the segmenter, with mmseg's own ``predict`` masks.
"""
import contextlib
import io
import math
import os.path as osp
import shutil

import onnx
import pytest
import torch

from conftest import REPO_ROOT, load_tool
from sfmm.deployment import (OnnxRuntimeModule, build_export_model, check_opset,
                             compare_outputs, export_onnx, wrap_for_export)

cli = load_tool('tools/deployment/pytorch2onnx.py')

CLS_CFG = osp.join(REPO_ROOT, 'configs/demo/sf-demo_fashion-canvas.py')
ZS_CFG = osp.join(REPO_ROOT, 'configs/classification/sf-b_clip_in1k-zeroshot.py')
SEG_CFG = osp.join(REPO_ROOT, 'configs/segmentation/sf-demo_demo-ade.py')
# the demo segmenter reads no student checkpoint and has 15 latent tokens (faster export)
SEG_OPTIONS = {'model.backbone.init_cfg': None, 'model.backbone.num_latent_tokens': 15}
SEG_SHAPE = (48, 64)  # not square: a swapped H/W would show
RTOL = 1e-4

EMBED = 32
TEXT_CFG = dict(context_length=16, vocab_size=49408, width=32, heads=2, layers=1)
CLASSES = ['cat', 'dog', 'school bus']
LOGIT_SCALE = 20.


def _rel(reference, candidate) -> float:
    return compare_outputs(reference, candidate)['max_rel_error']


def _run_cli(argv):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        summary = cli.main(argv)
    return summary, out.getvalue()


def _randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope='module')
def classifier(tmp_path_factory):
    """The demo classifier with saved (non-default) weights, exported by the CLI from that
    checkpoint with a dynamic batch (example batch 2)."""
    root = tmp_path_factory.mktemp('classifier')
    torch.manual_seed(0)
    model = build_export_model(CLS_CFG)
    with torch.no_grad():  # weights no initialiser would give: the checkpoint must matter
        head = model.model.head.fc
        head.weight.normal_(0., 0.5, generator=torch.Generator().manual_seed(1))
        head.bias.uniform_(-1., 1., generator=torch.Generator().manual_seed(2))
    ckpt = str(root / 'tiny.pth')
    torch.save(dict(state_dict=model.model.state_dict(), meta=dict()), ckpt)
    path = str(root / 'cls.onnx')
    summary, stdout = _run_cli([CLS_CFG, ckpt, '--shape', '64', '--batch-size', '2',
                                '--dynamic-batch', '--out', path])
    reference = build_export_model(CLS_CFG, ckpt)  # loaded from the checkpoint, strictly
    return dict(path=path, ckpt=ckpt, summary=summary, stdout=stdout, reference=reference)


@pytest.fixture(scope='module')
def zero_shot(tmp_path_factory):
    """A tiny CLIP-style SparseFormer (zero-shot head, tiny text tower read from a file)
    exported by the API with logits and embedding; the model's state before and after."""
    from open_clip.model import CLIP

    root = tmp_path_factory.mktemp('zero_shot')
    torch.manual_seed(0)
    clip = CLIP(EMBED, dict(image_size=32, layers=1, width=32, patch_size=16, head_width=16),
                TEXT_CFG, quick_gelu=True)
    with torch.no_grad():
        clip.logit_scale.fill_(math.log(LOGIT_SCALE))
    tower = str(root / 'tiny_clip.bin')
    torch.save(clip.state_dict(), tower)
    options = {
        'model.backbone.arch': dict(_delete_=True, focus_dims=64, embed_dims=64, num_layers=2,
                                    num_heads=2,
                                    act='quick_gelu', proj_dims=EMBED),
        'model.backbone.num_latent_tokens': 8,
        'model.backbone.num_points': 4,
        'model.backbone.conv_channels': 16,
        'model.head.classnames': CLASSES,
        'model.head.templates': ['a photo of a {}.', 'a drawing of the {}'],
        'model.head.text_encoder.model_cfg': dict(embed_dim=EMBED, text_cfg=TEXT_CFG),
        'model.head.text_encoder.init_cfg.checkpoint': tower,
    }
    model = build_export_model(ZS_CFG, task='zero-shot', cfg_options=options,
                               with_embedding=True)
    before = {k: v.clone() for k, v in model.state_dict(keep_vars=False).items()}
    before['class_embeddings'] = model.model.head.class_embeddings.clone()
    path = export_onnx(model, _randn(2, 3, 64, 64), str(root / 'zs.onnx'),
                       output_names=model.output_names)
    after = {k: v.clone() for k, v in model.state_dict(keep_vars=False).items()}
    after['class_embeddings'] = model.model.head.class_embeddings.clone()
    return dict(path=path, model=model, before=before, after=after)


@pytest.fixture(scope='module')
def segmenter(tmp_path_factory):
    """The demo segmenter (random weights, wide token classifier, saved) exported by the CLI
    from that checkpoint at 48x64, batch 2."""
    root = tmp_path_factory.mktemp('segmenter')
    torch.manual_seed(0)
    model = build_export_model(SEG_CFG, cfg_options=SEG_OPTIONS)
    with torch.no_grad():  # a wide token classifier: masks with several classes
        model.model.decode_head.token_cls.weight.normal_(
            0., 1., generator=torch.Generator().manual_seed(3))
    ckpt = str(root / 'seg.pth')
    torch.save(dict(state_dict=model.model.state_dict(), meta=dict()), ckpt)
    path = str(root / 'seg.onnx')
    options = [f'{k}={v}' for k, v in SEG_OPTIONS.items()]
    summary, stdout = _run_cli([SEG_CFG, ckpt, '--shape', *map(str, SEG_SHAPE),
                                '--batch-size', '2', '--out', path, '--cfg-options', *options])
    return dict(path=path, model=model, summary=summary, stdout=stdout)


# ----------------------------------------------------------------------------- classifier
def test_classifier_file_is_checked_opset18_and_samples_by_gather(classifier):
    path = classifier['path']
    onnx.checker.check_model(path)
    proto = onnx.load(path)
    opsets = {o.domain or 'ai.onnx': o.version for o in proto.opset_import}
    assert opsets['ai.onnx'] == 18 >= 16
    ops = {n.op_type for n in proto.graph.node}
    # SparseFormer's sampling: one Gather of channel rows per sampling op, no GridSample
    assert 'GridSample' not in ops
    gathers = [n for n in proto.graph.node
               if n.op_type == 'Gather' and 'index_select' in n.name]
    assert len(gathers) == 5  # 4 focusing repeats + the final sampling (tiny config)
    assert all(n.domain in ('', 'ai.onnx') for n in proto.graph.node)  # no custom/oneDNN ops
    (graph_input, ) = proto.graph.input
    dims = graph_input.type.tensor_type.shape.dim
    assert graph_input.name == 'input' and dims[0].dim_param  # symbolic batch
    assert [d.dim_value for d in dims[1:]] == [3, 64, 64]
    assert [o.name for o in proto.graph.output] == ['logits']


def test_cli_checkpoint_round_trip_matches_the_loaded_model(classifier):
    runtime = OnnxRuntimeModule(classifier['path'], num_threads=1)
    x = _randn(2, 3, 64, 64, seed=5)
    got = runtime(x)
    with torch.no_grad():
        expected = classifier['reference'](x)
    assert got.shape == (2, 10) and got.dtype == torch.float32
    assert _rel(expected, got) <= RTOL
    # the checkpoint matters: a model with its config's own initialisation differs
    torch.manual_seed(123)
    with torch.no_grad():
        fresh = build_export_model(CLS_CFG)(x)
    assert _rel(fresh, got) > 1e-2
    # the CLI verified the export batch and another one, and printed the errors
    verified = classifier['summary']['verified']
    assert [v['batch'] for v in verified] == [2, 3]
    assert all(v['max_rel_error'] <= RTOL for v in verified)
    assert 'onnx.checker passed' in classifier['stdout']
    assert classifier['stdout'].count('max relative error') == 2


@pytest.mark.parametrize('batch', [1, 3, 5])
def test_dynamic_batch_runs_other_batch_sizes(classifier, batch):
    runtime = OnnxRuntimeModule(classifier['path'])
    x = _randn(batch, 3, 64, 64, seed=batch)
    got = runtime(x)
    with torch.no_grad():
        expected = classifier['reference'](x)
    assert got.shape == (batch, 10)
    assert _rel(expected, got) <= RTOL


def test_cli_verification_fails_on_a_mismatching_file(classifier, tmp_path, monkeypatch):
    """--verify exits non-zero when ONNX Runtime disagrees with PyTorch: here the 'export'
    writes the checkpoint's graph while the CLI's model keeps its config's own weights."""
    import sfmm.deployment

    def fake_export(model, inputs, out, **kwargs):
        shutil.copyfile(classifier['path'], out)
        return out

    monkeypatch.setattr(sfmm.deployment, 'export_onnx', fake_export)
    torch.manual_seed(7)
    with pytest.raises(SystemExit, match='verification failed'):
        _run_cli([CLS_CFG, '--shape', '64', '--batch-size', '2', '--out',
                  str(tmp_path / 'x.onnx')])
    # --no-verify skips ONNX Runtime: no failure, nothing verified
    summary, stdout = _run_cli([CLS_CFG, '--shape', '64', '--no-verify', '--out',
                                str(tmp_path / 'y.onnx')])
    assert summary['verified'] == [] and 'max relative error' not in stdout


# ----------------------------------------------------------------------------- zero-shot
def test_zero_shot_image_tower_matches_and_holds_no_text_tower(zero_shot):
    model = zero_shot['model']
    runtime = OnnxRuntimeModule(zero_shot['path'])
    assert runtime.output_names == ['logits', 'embedding']
    x = _randn(2, 3, 64, 64, seed=3)
    logits, embedding = runtime(x)
    with torch.no_grad():
        expected = model(x)
    assert logits.shape == (2, len(CLASSES)) and embedding.shape == (2, EMBED)
    assert compare_outputs(expected, (logits, embedding))['max_rel_error'] <= RTOL
    # the logits are the CLIP scale times the cosine to the cached class embeddings
    classes = model.model.head.class_embeddings
    torch.testing.assert_close(embedding.norm(dim=-1), torch.ones(2))
    torch.testing.assert_close(logits, LOGIT_SCALE * embedding @ classes.t(),
                               rtol=1e-4, atol=1e-4)
    assert float(logits.std()) > 1e-3  # not a constant output
    # the text tower (its 49408-row token embedding, its blocks) is not in the file
    proto = onnx.load(zero_shot['path'])
    sizes = [tuple(t.dims) for t in proto.graph.initializer]
    assert not any(TEXT_CFG['vocab_size'] in s for s in sizes)
    # the whole file holds fewer numbers than the tower's token embedding alone
    assert sum(math.prod(s) for s in sizes) < TEXT_CFG['vocab_size'] * TEXT_CFG['width']


def test_export_keeps_the_model_state_and_needs_eval_mode(zero_shot, tmp_path):
    before, after = zero_shot['before'], zero_shot['after']
    assert before.keys() == after.keys() and len(before) > 10
    assert all(torch.equal(before[k], after[k]) for k in before)
    model = zero_shot['model']
    assert not any(m.training for m in model.modules())
    x = _randn(1, 3, 64, 64)
    model.train()
    try:
        with pytest.raises(ValueError, match='eval mode'):
            export_onnx(model, x, str(tmp_path / 'train.onnx'),
                        output_names=model.output_names)
    finally:
        model.eval()
    # two outputs need two names; both errors come before anything is exported
    with pytest.raises(ValueError, match=r'returns 2 output\(s\) but output_names has 1'):
        export_onnx(model, x, str(tmp_path / 'names.onnx'))
    with pytest.raises(ValueError, match=r'\(B, 3, H, W\)'):
        export_onnx(model, torch.randn(3, 64, 64), str(tmp_path / 'shape.onnx'))
    assert not list(tmp_path.iterdir())


# ----------------------------------------------------------------------------- segmenter
def test_segmenter_masks_equal_torch_and_mmseg_predict(segmenter):
    from mmseg.structures import SegDataSample

    model = segmenter['model']
    runtime = OnnxRuntimeModule(segmenter['path'])
    x = _randn(2, 3, *SEG_SHAPE, seed=11)
    got = runtime(x)
    with torch.no_grad():
        expected = model(x)
    assert got.shape == (2, 8, *SEG_SHAPE)  # logits at the input size
    result = compare_outputs(expected, got, masks=True)
    assert result['max_rel_error'] <= RTOL
    # equal masks; float rounding may only flip a pixel whose two best logits tie (within
    # 1e-4 of the logit range; with other random inputs one such pixel was seen)
    assert result['mask_mismatch_beyond_ties'] == 0
    assert result['mask_mismatch'] <= 2
    # the outside truth: mmseg's own whole-image inference of the same segmentor gives
    # the masks of the exported module (same resize to the input size)
    meta = dict(img_shape=SEG_SHAPE, ori_shape=SEG_SHAPE, pad_shape=SEG_SHAPE)
    with torch.no_grad():
        samples = model.model.predict(x, [SegDataSample(metainfo=meta) for _ in range(2)])
    mmseg_masks = torch.stack([s.pred_sem_seg.data[0] for s in samples])
    assert torch.equal(expected.argmax(1), mmseg_masks)
    assert len(mmseg_masks.unique()) > 1  # a real mask, not one class everywhere
    (verified, ) = segmenter['summary']['verified']
    assert verified['mask_mismatch_beyond_ties'] == 0 and verified['max_rel_error'] <= RTOL
    assert 'argmax masks equal: ' in segmenter['stdout']
    assert ' 0 beyond near ties' in segmenter['stdout']


def test_wrong_task_is_refused(segmenter):
    with pytest.raises(ValueError, match="task 'classifier' does not fit.*'segmenter'"):
        wrap_for_export(segmenter['model'].model, task='classifier')
    with pytest.raises(ValueError, match='zero-shot models only'):
        wrap_for_export(segmenter['model'].model, with_embedding=True)


# ----------------------------------------------------------------------------- bad inputs
def test_opsets_below_18_are_refused(tmp_path, capsys):
    with pytest.raises(ValueError, match='opset 15 is not supported: .*opset 18 .the default.'):
        check_opset(15)
    with pytest.raises(ValueError, match='opset 18 .the default.'):
        check_opset(17)
    assert check_opset(18) == 18
    with pytest.raises(ValueError, match='opset 15 is not supported'):
        export_onnx(torch.nn.Conv2d(3, 1, 1).eval(), torch.randn(1, 3, 8, 8),
                    str(tmp_path / 'x.onnx'), opset=15)
    with pytest.raises(SystemExit) as exc:
        cli.parse_args([CLS_CFG, '--shape', '64', '--out', str(tmp_path / 'x.onnx'),
                        '--opset', '15'])
    assert exc.value.code == 2 and 'opset 15 is not supported' in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_missing_checkpoint_is_named(tmp_path):
    missing = str(tmp_path / 'missing.pth')
    with pytest.raises(FileNotFoundError, match='checkpoint file not found: .*missing.pth'):
        build_export_model(CLS_CFG, missing)
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        cli.main([CLS_CFG, missing, '--shape', '64', '--out', str(tmp_path / 'x.onnx')])


def test_onnx_runtime_module_names_missing_and_corrupt_files(tmp_path):
    with pytest.raises(FileNotFoundError, match='ONNX model file not found: .*none.onnx'):
        OnnxRuntimeModule(str(tmp_path / 'none.onnx'))
    corrupt = tmp_path / 'corrupt.onnx'
    corrupt.write_bytes(b'not an onnx model')
    with pytest.raises(ValueError, match='corrupt.onnx: ONNX Runtime cannot load it'):
        OnnxRuntimeModule(str(corrupt))
    with pytest.raises(ValueError, match='num_threads'):
        OnnxRuntimeModule(str(corrupt), num_threads=0)


def test_compare_outputs_relative_error_and_mask_ties():
    ref = torch.zeros(1, 2, 1, 3)
    ref[0, 0] = torch.tensor([10., 1., 5.])  # pixel 1: class 1 wins clearly
    ref[0, 1] = torch.tensor([0., 2., 5.])  # pixel 2: an exact tie
    cand = ref.clone()
    cand[0, 1, 0, 2] += 1e-6  # flips the tie: a rounding-level change
    result = compare_outputs(ref, cand, masks=True)
    assert result['max_rel_error'] == pytest.approx(1e-7, rel=0.1)  # float32 rounding of 5
    assert not result['mask_equal'] and result['mask_mismatch'] == 1
    assert result['mask_mismatch_beyond_ties'] == 0
    cand[0, 0, 0, 1] = 3.  # pixel 1 now goes to class 0: a real difference
    result = compare_outputs(ref, cand, masks=True)
    assert result['mask_mismatch'] == 2 and result['mask_mismatch_beyond_ties'] == 1
    assert result['max_rel_error'] == pytest.approx(0.2)
    with pytest.raises(ValueError, match='shape'):
        compare_outputs(ref, ref[:, :1])
