"""tools/analysis_tools/smoke_full_size.py: its plan, its teacher-file writers, and its whole
logic (teacher file, train, test) on one bootstrap leaf with every model shrunk."""
import os.path as osp

import pytest
import torch

from conftest import load_tool

smoke = load_tool('tools/analysis_tools/smoke_full_size.py')


def test_plan_adds_prerequisites_in_order():
    plan, parents = smoke.make_plan(['sf-l_augreg-384_196tok', 'segmentation/sf-b_*'], True)
    assert plan == [('bootstrap/sf-b_augreg', False), ('bootstrap/sf-l_augreg-384', False),
                    ('bootstrap/sf-l_augreg-384_196tok', True),
                    ('segmentation/sf-b_augreg_ade20k-512x512', True)]
    assert parents['bootstrap/sf-l_augreg-384_196tok'] == 'bootstrap/sf-l_augreg-384'
    leaves = smoke.bootstrap_leaves()
    assert 'bootstrap/ablations/sf-b_augreg_no-trunc' in leaves and len(leaves) == 25
    assert smoke.eval_config_of('bootstrap/ablations/sf-b_augreg_no-trunc', False) == \
        'classification/sf-b_augreg_in1k'
    assert smoke.eval_config_of('bootstrap/sf-l_clip_128tok', True) == \
        'classification/sf-l_clip_128tok_in1k-zeroshot'


def test_teacher_files_load_strictly(tmp_path):
    """The AugReg .npz and OpenAI TorchScript .pt writers give files the readers accept."""
    from sfmm.models.heads import ZeroShotClsHead
    from sfmm.models.teachers import OpenCLIPTeacher, TimmViTTeacher

    kw = dict(embed_dim=32, num_heads=2, depth=2)
    path = str(tmp_path / 'vit.npz')
    smoke.write_teacher_file(dict(type='sfmm.TimmViTTeacher', model_name='vit_base_patch16_224',
                                  model_kwargs=kw), path)
    teacher = TimmViTTeacher('vit_base_patch16_224', model_kwargs=kw,
                             init_cfg=dict(type='sfmm.Pretrained', checkpoint=path))
    teacher.init_weights()  # raises if any parameter is not in the file
    import timm
    torch.manual_seed(0)  # the writer's seed: the same random weights
    ref = timm.create_model('vit_base_patch16_224', pretrained=False, **kw)
    for name, value in ref.state_dict().items():
        torch.testing.assert_close(teacher.model.state_dict()[name], value)

    text = dict(context_length=77, vocab_size=49408, width=32, heads=2, layers=1)
    vision = dict(image_size=32, layers=2, width=32, patch_size=16, head_width=16)
    cfg = dict(embed_dim=16, vision_cfg=vision, text_cfg=text)
    path = str(tmp_path / 'clip.pt')
    smoke.write_teacher_file(dict(type='sfmm.OpenCLIPTeacher', model_name='tiny', model_cfg=cfg),
                             path)
    clip = OpenCLIPTeacher('tiny', model_cfg=cfg,
                           init_cfg=dict(type='sfmm.Pretrained', checkpoint=path))
    clip.init_weights()
    head = ZeroShotClsHead(classnames=['a', 'b'], templates=['{}'], text_encoder=dict(
        model_cfg=cfg, init_cfg=dict(type='sfmm.Pretrained', checkpoint=path)))
    assert head.encode_classes().shape == (2, 16)


def test_one_leaf_at_tiny_size(tmp_path, capsys):
    workdir = tmp_path / 'smoke'
    rc = smoke.main(['--only', 'bootstrap/sf-b_augreg', '--tiny', '--in-process', '--no-seg',
                     '--workdir', str(workdir), '--keep-workdir'])
    out = capsys.readouterr().out
    assert rc == 0, out
    line = [ln for ln in out.splitlines() if 'bootstrap/sf-b_augreg ' in ln][0]
    assert line.startswith('PASS') and 'train' in line and 'test' in line
    assert 'vit_base_patch16_224.augreg_in21k_ft_in1k.safetensors (timm safetensors' in out
    assert 'sf-b_augreg_in1k: top-1' in out
    # the teacher file sits where the config names it; the checkpoint came from one iteration
    assert (workdir / 'checkpoints/timm/vit_base_patch16_224.augreg_in21k_ft_in1k.safetensors'
            ).is_file()
    from sfmm.weights import read_checkpoint
    ckpt = read_checkpoint(str(workdir / 'work_dirs/sf-b_augreg/epoch_1.pth'), unwrap=False)
    assert ckpt['meta']['iter'] == 1
    assert not any(k.startswith('teacher.') for k in ckpt['state_dict'])
    assert osp.isfile(workdir / 'data/imagenet/meta/val.txt')


def test_failure_exits_nonzero(tmp_path, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError('boom')

    monkeypatch.setattr(smoke, 'write_teacher_file', broken)
    rc = smoke.main(['--only', 'bootstrap/sf-b_augreg', '--tiny', '--in-process', '--no-seg',
                     '--workdir', str(tmp_path / 'w')])
    out = capsys.readouterr().out
    assert rc == 1 and 'FAIL  bootstrap/sf-b_augreg' in out and 'boom' in out
    # without --keep-workdir only the logs of a failed run are kept
    assert sorted(p.name for p in (tmp_path / 'w').iterdir()) == ['logs']


@pytest.mark.parametrize('rel', ['bootstrap/sf-b_augreg_80tok', 'bootstrap/sf-l_clip-336'])
def test_eval_overrides_check_the_student(rel):
    cfg = smoke._load(rel)
    clip = cfg.model.teacher.type == 'sfmm.OpenCLIPTeacher'
    ev = smoke._load(smoke.eval_config_of(rel, clip))
    over, notes = smoke.eval_overrides(cfg, ev, '/tmp/x', False)
    assert over['test_dataloader']['batch_size'] == 2
    assert bool(notes) == clip
    ev.model.backbone.num_latent_tokens += 1
    with pytest.raises(ValueError, match='latent tokens'):
        smoke.eval_overrides(cfg, ev, '/tmp/x', False)
