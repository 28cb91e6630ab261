"""tools/train.py and tools/test.py argument handling (merge_args)."""
import pytest
from mmengine.config import Config

from conftest import load_tool

train_tool = load_tool('tools/train.py')
test_tool = load_tool('tools/test.py')


def _cfg(**kwargs):
    base = dict(optim_wrapper=dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1)),
                default_scope='mmpretrain')
    base.update(kwargs)
    return Config(base)


def _merge(argv, cfg=None):
    args = train_tool.parse_args(argv)
    return train_tool.merge_args(cfg or _cfg(), args)


def test_default_work_dir_is_config_stem():
    cfg = _merge(['configs/bootstrap/sf-l_augreg.py'])
    assert cfg.work_dir.replace('\\', '/').endswith('work_dirs/sf-l_augreg')
    assert cfg.launcher == 'none'


def test_cli_work_dir_beats_config():
    cfg = _merge(['x.py', '--work-dir', 'wd_cli'], _cfg(work_dir='wd_cfg'))
    assert cfg.work_dir == 'wd_cli'
    assert _merge(['x.py'], _cfg(work_dir='wd_cfg')).work_dir == 'wd_cfg'


def test_amp_converts_only_plain_optim_wrapper():
    cfg = _merge(['x.py', '--amp'])
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    custom = _cfg(optim_wrapper=dict(type='MyWrapper', optimizer=dict(type='SGD', lr=1)))
    with pytest.raises(ValueError, match='MyWrapper'):
        _merge(['x.py', '--amp'], custom)


def test_resume_flag_and_path(tmp_path):
    cfg = _merge(['x.py', '--resume'])
    assert cfg.resume is True and cfg.load_from is None
    ckpt = tmp_path / 'epoch_1.pth'
    ckpt.write_bytes(b'x')
    cfg = _merge(['x.py', '--resume', str(ckpt)])
    assert cfg.resume is True and cfg.load_from == str(ckpt)
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        _merge(['x.py', '--resume', str(tmp_path / 'missing.pth')])


def test_cfg_options_are_applied_last():
    cfg = _merge(['x.py', '--work-dir', 'a', '--cfg-options', 'work_dir=b',
                  'optim_wrapper.optimizer.lr=0.5'])
    assert cfg.work_dir == 'b'
    assert cfg.optim_wrapper.optimizer.lr == 0.5


def test_launcher_is_recorded():
    assert _merge(['x.py', '--launcher', 'pytorch']).launcher == 'pytorch'


def test_test_tool_sets_checkpoint_out_and_show_dir():
    cfg = Config(dict(default_scope='mmpretrain', test_evaluator=dict(type='Accuracy'),
                      default_hooks=dict(visualization=dict(type='VisualizationHook'))))
    args = test_tool.parse_args(['c.py', 'ck.pth', '--out', 'r.pkl', '--show-dir', 'vis'])
    cfg = test_tool.merge_args(cfg, args)
    assert cfg.load_from == 'ck.pth'
    assert cfg.test_evaluator[1] == dict(type='DumpResults', out_file_path='r.pkl')
    assert cfg.default_hooks.visualization.enable is True
    assert cfg.default_hooks.visualization.out_dir == 'vis'

    seg = Config(dict(default_scope='mmseg', test_evaluator=dict(type='IoUMetric'),
                      visualizer=dict(type='SegLocalVisualizer'),
                      default_hooks=dict(visualization=dict(type='SegVisualizationHook'))))
    seg = test_tool.merge_args(seg, test_tool.parse_args(
        ['c.py', 'ck.pth', '--out', 'preds', '--show-dir', 'vis']))
    assert seg.test_evaluator.output_dir == 'preds' and seg.test_evaluator.keep_results
    assert seg.default_hooks.visualization.draw is True
    assert seg.visualizer.save_dir == 'vis'


def test_missing_config_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.py'):
        train_tool.main([str(tmp_path / 'nope.py')])


def test_test_tool_amp_turns_on_test_loop_autocast():
    cfg = Config(dict(default_scope='mmpretrain', test_cfg=dict()))
    cfg = test_tool.merge_args(cfg, test_tool.parse_args(['c.py', 'ck.pth', '--amp']))
    assert cfg.test_cfg.fp16 is True
    plain = test_tool.merge_args(Config(dict(default_scope='mmpretrain', test_cfg=dict())),
                                 test_tool.parse_args(['c.py', 'ck.pth']))
    assert 'fp16' not in plain.test_cfg
    other = Config(dict(default_scope='mmpretrain', test_cfg=dict(type='RetrievalTestLoop')))
    with pytest.raises(ValueError, match='RetrievalTestLoop'):
        test_tool.merge_args(other, test_tool.parse_args(['c.py', 'ck.pth', '--amp']))
