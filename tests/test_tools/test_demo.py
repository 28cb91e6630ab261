"""Tiny end-to-end runs of tools/demo.py on both demo datasets (Fashion-MNIST canvases from
fabricated IDX files with the shipped teacher; procedural scenes with the teacher re-created
by tools/pretrain_demo_teacher.py), tools/demo_compare.py, and the demo's helpers."""
import json
import os.path as osp
import shutil

import pytest
from mmengine.config import Config

from conftest import REPO_ROOT, load_tool, write_fake_fashion_mnist

TINY = ['--num-train', '32', '--num-val', '16', '--num-seg', '4', '2', '--student-epochs', '1',
        '--batch-size', '16', '--num-vis', '2', '--log-interval', '1']
SHIPPED = osp.join(REPO_ROOT, 'configs', 'demo', 'weights', 'vit-demo_fashion-canvas')


@pytest.fixture(scope='module')
def fashion_run(tmp_path_factory):
    pytest.importorskip('mmpretrain')
    demo = load_tool('tools/demo.py')
    root = tmp_path_factory.mktemp('demo_fashion')
    write_fake_fashion_mnist(str(root / 'fm'), n_train=48, n_test=20)
    mp = pytest.MonkeyPatch()
    mp.setenv('SFMM_FASHION_MNIST_DIR', str(root / 'fm'))
    args = TINY + ['--work-dir', str(root / 'work'), '--data-root', str(root / 'data')]
    try:
        summary = demo.main(args)
        yield demo, root, args, summary
    finally:
        mp.undo()


def test_fashion_demo_end_to_end(fashion_run, capsys, monkeypatch):
    demo, root, args, summary = fashion_run
    work = root / 'work'
    with open(work / 'summary.json') as f:
        saved = json.load(f)
    assert saved['dataset'] == 'fashion'  # auto: Fashion-MNIST was available
    for key in ('teacher_top1', 'student_top1', 'teacher_gflops', 'student_gflops',
                'teacher_tokens', 'student_tokens'):
        assert saved[key] == summary[key]
    assert saved['teacher_tokens'] == 65 and saved['student_tokens'] == 16
    assert saved['student_gflops'] <= saved['teacher_gflops'] / 3
    # the shipped teacher was loaded, not trained
    assert saved['teacher_checkpoint'] == SHIPPED + '.safetensors'
    assert not (work / 'teacher').exists()
    # RoI statistics: one entry per focusing step plus the initial grid, all in [0, 1]
    stats = saved['roi_stats']
    backbone = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'demo',
                                        'sf-demo_fashion-canvas.py')).model.backbone
    assert len(stats['best_iou']) == len(stats['centre_in_box']) == backbone.focus_repeats + 1
    assert all(0 <= v <= 1 for v in stats['best_iou'] + stats['centre_in_box'])
    assert stats['num_images'] == 16 and 0 < stats['box_area'] < 1
    assert osp.getsize(saved['figure']) > 1000
    data = root / 'data' / 'fashion_canvas'
    assert len((data / 'meta' / 'train_images.txt').read_text().split()) == 32
    assert len((data / 'meta' / 'val.txt').read_text().splitlines()) == 16

    # a re-run reuses the data and the student and gives the same figures
    monkeypatch.setenv('SFMM_FASHION_MNIST_DIR', str(root / 'fm'))
    png = next((data / 'train').rglob('*.png'))
    mtime = png.stat().st_mtime
    capsys.readouterr()
    again = demo.main(args)
    out = capsys.readouterr().out
    assert out.count('finished earlier with the same settings, reused') == 1
    assert png.stat().st_mtime == mtime
    assert again['student_top1'] == summary['student_top1']
    assert again['roi_stats'] == summary['roi_stats']


def test_fashion_demo_top1_equals_tools_test(fashion_run, tmp_path):
    """The demo's figures are those of tools/test.py on the checkpoints it used, and each
    is the top-1 of the saved predictions."""
    import pickle

    import torch
    _, root, _, summary = fashion_run
    test_tool = load_tool('tools/test.py')
    val_root = str(root / 'data' / 'fashion_canvas')
    with open(osp.join(val_root, 'meta', 'val.txt')) as f:
        labels = [int(line.split()[1]) for line in f.read().splitlines() if line]
    for who, config, ckpt in (
            ('teacher', 'vit-demo_fashion-canvas.py', SHIPPED + '.safetensors'),
            ('student', 'sf-demo_fashion-canvas.py', str(root / 'work' / 'student.pth'))):
        out = str(tmp_path / f'{who}.pkl')
        metrics = test_tool.main([
            osp.join(REPO_ROOT, 'configs', 'demo', config), ckpt,
            '--work-dir', str(tmp_path / who), '--out', out,
            '--cfg-options', f'test_dataloader.dataset.data_root={val_root}'])
        with open(out, 'rb') as f:
            preds = pickle.load(f)
        assert [int(p['gt_label']) for p in preds] == labels
        pred = [int(torch.as_tensor(p['pred_score']).argmax()) for p in preds]
        by_hand = 100. * sum(a == b for a, b in zip(pred, labels)) / len(labels)
        assert metrics['accuracy/top1'] == pytest.approx(by_hand)
        assert summary[f'{who}_top1'] == pytest.approx(round(by_hand, 2))


def test_demo_compare_table(fashion_run, capsys):
    _, root, _, summary = fashion_run
    compare = load_tool('tools/demo_compare.py')
    args = ['--work-dir', str(root / 'work'), '--rows', 'bootstrap', 'kl-tau5', 'scratch-full',
            '--seeds', '0', '1', '--full-epochs', '1', '--log-interval', '1']
    rows = compare.main(args)
    assert [r['row'] for r in rows] == ['bootstrap', 'kl-tau5', 'scratch-full']
    assert [len(r['top1']) for r in rows] == [2, 2, 1]
    assert rows[2]['std'] is None
    for r in rows[:2]:
        assert r['mean'] == pytest.approx(sum(r['top1']) / 2)
    jobs = json.load(open(root / 'work' / 'compare' / 'scratch-full_s0.json'))
    assert jobs['ann_file'] == 'meta/train_all.txt' and jobs['epochs'] == 1
    full = (root / 'data' / 'fashion_canvas' / 'meta' / 'train_all.txt').read_text()
    assert len(full.splitlines()) == 48  # every labelled training canvas
    table = (root / 'work' / 'compare.md').read_text()
    assert table.startswith('| Method |') and table.count('\n|') == 5
    assert 'KL distillation, tau 5' in table and '82.5' in table
    # a re-run reuses every run
    capsys.readouterr()
    again = compare.main(args)
    assert '5 of 5 runs reused' in capsys.readouterr().out
    assert [r['top1'] for r in again] == [r['top1'] for r in rows]


def test_procedural_fallback_with_pretrained_teacher(tmp_path, capsys):
    """The procedural scenes with the teacher re-created by tools/pretrain_demo_teacher.py
    (safetensors + its record) and then loaded like the shipped one."""
    pytest.importorskip('mmpretrain')
    demo = load_tool('tools/demo.py')
    summary = demo.main(TINY + [
        '--dataset', 'procedural', '--pretrain-teacher', '--teacher-epochs', '1',
        '--teacher-num-train', '48', '--work-dir', str(tmp_path / 'work'),
        '--data-root', str(tmp_path / 'data')])
    assert summary['dataset'] == 'procedural' and summary['roi_stats'] is None
    ckpt = tmp_path / 'work' / 'teacher.safetensors'
    record = json.load(open(tmp_path / 'work' / 'teacher.json'))
    from sfmm.datasets.fashion_mnist import sha256_of
    assert record['sha256'] == sha256_of(str(ckpt)) and record['train_images'] == 48
    pretrain = load_tool('tools/pretrain_demo_teacher.py')
    from safetensors.torch import load_file
    assert record['tensors_sha256'] == pretrain.tensors_sha256(load_file(str(ckpt)))
    assert record['epochs'] == 1 and record['top1'] == summary['teacher_top1']
    assert 'tools/pretrain_demo_teacher.py' in record['command']
    # the teacher's pre-training data is its own folder; the student's first scenes are
    # the same images
    a = (tmp_path / 'data' / 'demo_in' / 'meta' / 'train.txt').read_text().splitlines()
    b = (tmp_path / 'data' / 'demo_in_pretrain' / 'meta' / 'train.txt').read_text().splitlines()
    assert len(a) == 32 and len(b) == 48 and a == b[:32]


def test_shipped_teacher_is_checked(tmp_path, monkeypatch):
    demo = load_tool('tools/demo.py')
    monkeypatch.setattr(demo, 'WEIGHTS_DIR', str(tmp_path))
    with pytest.raises(FileNotFoundError, match='pretrain_demo_teacher.py --dataset fashion'):
        demo.shipped_teacher('fashion')
    for ext in ('.safetensors', '.json'):
        shutil.copy(SHIPPED + ext, tmp_path / ('vit-demo_fashion-canvas' + ext))
    assert demo.shipped_teacher('fashion') == str(tmp_path / 'vit-demo_fashion-canvas'
                                                  '.safetensors')
    with open(tmp_path / 'vit-demo_fashion-canvas.safetensors', 'r+b') as f:
        f.seek(-1, 2)
        f.write(b'\0')
    with pytest.raises(ValueError, match='vit-demo_fashion-canvas.safetensors: sha256 .* '
                       'does not match'):
        demo.shipped_teacher('fashion')


def test_shipped_teacher_record_is_complete():
    """The committed teacher's record: its checksum, and how it was made."""
    record = json.load(open(SHIPPED + '.json'))
    from sfmm.datasets.fashion_mnist import sha256_of
    assert record['sha256'] == sha256_of(SHIPPED + '.safetensors')
    assert record['train_images'] == 60000 and record['test_images'] == 10000
    for key in ('command', 'seed', 'epochs', 'wall_time_s', 'top1', 'threads', 'torch'):
        assert key in record


@pytest.mark.parametrize('name', ['vit-demo_fashion-canvas', 'vit-demo_demo-in'])
def test_shipped_teacher_tensor_digest(name):
    """Both shipped records carry the digest of their file's tensors."""
    from safetensors.torch import load_file
    pretrain = load_tool('tools/pretrain_demo_teacher.py')
    path = osp.join(REPO_ROOT, 'configs', 'demo', 'weights', name)
    record = json.load(open(path + '.json'))
    assert record['tensors_sha256'] == pretrain.tensors_sha256(load_file(path + '.safetensors'))


def test_tensor_digest_ignores_serialisation_only(tmp_path):
    """The digest is the same for the same tensors saved with metadata in another order (the
    file SHA-256 need not be), and changes with a value, a key, a dtype or a shape."""
    import torch
    from safetensors.torch import load_file, save_file
    pretrain = load_tool('tools/pretrain_demo_teacher.py')
    state = {'b.weight': torch.arange(6.).reshape(2, 3), 'a.bias': torch.ones(3)}
    save_file(state, str(tmp_path / 'x.safetensors'), metadata=dict(format='pt', config='c'))
    save_file(state, str(tmp_path / 'y.safetensors'), metadata=dict(config='c', format='pt'))
    digests = {pretrain.tensors_sha256(load_file(str(tmp_path / f))) for f in
               ('x.safetensors', 'y.safetensors')}
    assert digests == {pretrain.tensors_sha256(state)}
    changed = [dict(state, **{'a.bias': torch.tensor([1., 1., 1.0001])}),
               {'c.weight': state['b.weight'], 'a.bias': state['a.bias']},
               dict(state, **{'a.bias': torch.ones(3, dtype=torch.float64)}),
               dict(state, **{'b.weight': state['b.weight'].reshape(3, 2)})]
    assert len({pretrain.tensors_sha256(s) for s in changed} | digests) == 5


def test_recreated_teacher_is_compared_with_shipped(tmp_path):
    pretrain = load_tool('tools/pretrain_demo_teacher.py')
    record = json.load(open(SHIPPED + '.json'))
    line = pretrain.compare_with_shipped(record, str(tmp_path / 'again'))
    top1 = f"{record['top1']:.2f}"
    assert f'top-1 {top1} vs {top1} (+0.00)' in line and 'tensors identical' in line
    other = dict(record, top1=record['top1'] - 0.3, tensors_sha256='0' * 64)
    line = pretrain.compare_with_shipped(other, str(tmp_path / 'again'))
    assert '(-0.30)' in line and 'tensors different' in line
    assert pretrain.compare_with_shipped(record, SHIPPED) is None


def test_set_schedule_drops_warmup_for_one_epoch():
    demo = load_tool('tools/demo.py')
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'demo', 'sf-demo_vit-demo-fashion.py'))
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
