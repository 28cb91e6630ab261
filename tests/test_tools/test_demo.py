"""A tiny end-to-end run of tools/demo.py (data -> teacher -> bootstrap -> eval -> figure)
and tools/demo_compare.py, plus the demo's schedule and stage-reuse helpers."""
import json
import os.path as osp

import pytest
from mmengine.config import Config

from conftest import REPO_ROOT, load_tool

TINY = ['--num-train', '32', '--num-val', '16', '--num-seg', '4', '2', '--teacher-epochs', '1',
        '--student-epochs', '1', '--batch-size', '16', '--num-vis', '2', '--log-interval', '1']


@pytest.fixture(scope='module')
def demo_run(tmp_path_factory):
    pytest.importorskip('mmpretrain')
    demo = load_tool('tools/demo.py')
    root = tmp_path_factory.mktemp('demo')
    args = TINY + ['--work-dir', str(root / 'work'), '--data-root', str(root / 'data')]
    summary = demo.main(args)
    return demo, root, args, summary


def test_demo_end_to_end(demo_run, capsys):
    demo, root, args, summary = demo_run
    work = root / 'work'
    with open(work / 'summary.json') as f:
        saved = json.load(f)
    for key in ('teacher_top1', 'student_top1', 'teacher_gflops', 'student_gflops',
                'teacher_tokens', 'student_tokens'):
        assert saved[key] == summary[key]
    # the demo's size constraints: <= 1/4 of the tokens, <= 1/3 of the FLOPs
    assert saved['teacher_tokens'] == 65 and saved['student_tokens'] == 16
    assert saved['student_gflops'] <= saved['teacher_gflops'] / 3
    assert osp.getsize(saved['figure']) > 1000
    for name in ('teacher.pth', 'student.pth'):
        assert (work / name).is_file()
    # both layouts were written by the procedural generator
    assert len((root / 'data' / 'demo_in' / 'meta' / 'train.txt').read_text().split('\n')) == 33
    assert len(list((root / 'data' / 'demo_ade' / 'annotations' / 'training').iterdir())) == 4

    # a re-run reuses every stage and gives the same figures
    capsys.readouterr()
    again = demo.main(demo_run[2])
    out = capsys.readouterr().out
    assert out.count('reused') == 3  # data, teacher, student
    assert again['student_top1'] == summary['student_top1']
    assert again['teacher_top1'] == summary['teacher_top1']


def test_demo_top1_equals_tools_test_of_its_checkpoints(demo_run, tmp_path):
    """The demo's figures are those of tools/test.py on the checkpoints it wrote (a reference
    run through the public tool), and each is the top-1 of the saved predictions."""
    import pickle

    import torch
    _, root, _, summary = demo_run
    test_tool = load_tool('tools/test.py')
    val_root = str(root / 'data' / 'demo_in')
    with open(osp.join(val_root, 'meta', 'val.txt')) as f:
        labels = [int(line.split()[1]) for line in f.read().splitlines() if line]
    for who, config in (('teacher', 'vit-demo_demo-in.py'), ('student', 'sf-demo_demo-in.py')):
        out = str(tmp_path / f'{who}.pkl')
        metrics = test_tool.main([
            osp.join(REPO_ROOT, 'configs', 'demo', config), str(root / 'work' / f'{who}.pth'),
            '--work-dir', str(tmp_path / who), '--out', out,
            '--cfg-options', f'test_dataloader.dataset.data_root={val_root}'])
        with open(out, 'rb') as f:
            preds = pickle.load(f)
        assert [int(p['gt_label']) for p in preds] == labels
        pred = [int(torch.as_tensor(p['pred_score']).argmax()) for p in preds]
        by_hand = 100. * sum(a == b for a, b in zip(pred, labels)) / len(labels)
        assert metrics['accuracy/top1'] == pytest.approx(by_hand)
        assert summary[f'{who}_top1'] == pytest.approx(round(by_hand, 2))


def test_demo_compare_table(demo_run, capsys):
    _, root, _, summary = demo_run
    compare = load_tool('tools/demo_compare.py')
    rows = compare.main(['--work-dir', str(root / 'work')])
    assert [r['labels'] for r in rows] == ['yes', 'no', 'no', 'yes']
    assert rows[1]['top1'] == summary['student_top1']
    table = (root / 'work' / 'compare.md').read_text()
    assert table.startswith('| Method |') and table.count('\n|') == 5
    assert 'KL distillation' in table and 'from scratch' in table


def test_set_schedule_drops_warmup_for_one_epoch():
    demo = load_tool('tools/demo.py')
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'demo', 'sf-demo_vit-demo.py'))
    demo.set_schedule(cfg, 5, 3e-4, 7)
    assert cfg.optim_wrapper.optimizer.lr == 3e-4
    assert [s['type'] for s in cfg.param_scheduler] == ['LinearLR', 'CosineAnnealingLR']
    assert cfg.param_scheduler[1]['end'] == 5 and cfg.train_cfg['max_epochs'] == 5
    assert any(h['type'] == 'sfmm.WarmupFreezeHook' for h in cfg.custom_hooks)
    demo.set_schedule(cfg, 1, 3e-4, 7)
    assert [s['type'] for s in cfg.param_scheduler] == ['CosineAnnealingLR']
    assert not any(h['type'] == 'sfmm.WarmupFreezeHook' for h in cfg.custom_hooks)


def test_stage_reuse_needs_same_settings(tmp_path):
    demo = load_tool('tools/demo.py')
    stages_file = str(tmp_path / 'stages.json')
    out = tmp_path / 'teacher.pth'
    stages = demo._load_stages(stages_file)
    assert not demo._stage_done(stages, 'teacher', dict(epochs=2), str(out))
    out.write_bytes(b'x')
    demo._mark(stages, stages_file, 'teacher', dict(epochs=2))
    stages = demo._load_stages(stages_file)
    assert demo._stage_done(stages, 'teacher', dict(epochs=2), str(out))
    assert not demo._stage_done(stages, 'teacher', dict(epochs=3), str(out))
