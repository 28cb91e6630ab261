"""An interrupted run resumed with ``tools/train.py --resume`` continues where it stopped."""
import os.path as osp
import pickle

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from conftest import REPO_ROOT, load_tool, write_tiny_imagenet

train_tool = load_tool('tools/train.py')
test_tool = load_tool('tools/test.py')
TINY_CFG = osp.join(REPO_ROOT, 'tests/data/configs/tiny_classifier.py')


class _Interrupted(RuntimeError):
    pass


@HOOKS.register_module(force=True)
class _InterruptAfterEpochHook(Hook):
    """Dies after the given epoch's checkpoint is written (lowest priority)."""
    priority = 'LOWEST'

    def __init__(self, epoch: int):
        self.epoch = epoch

    def after_train_epoch(self, runner):
        # runner.epoch counts finished epochs only after this stage
        if runner.epoch + 1 >= self.epoch:
            raise _Interrupted(f'interrupted after epoch {runner.epoch + 1}')


def _write_cfg(tmp_path, data_root, interrupt: bool) -> str:
    extra = ("custom_hooks = [dict(type='sfmm.CheckpointCompatHook'), "
             "dict(type='_InterruptAfterEpochHook', epoch=1)]\n") if interrupt else ''
    path = tmp_path / ('interrupt.py' if interrupt else 'plain.py')
    path.write_text(f"_base_ = [{TINY_CFG!r}]\n"
                    f"data_root = {data_root!r}\n"
                    f"train_dataloader = dict(dataset=dict(data_root=data_root))\n"
                    f"val_dataloader = dict(dataset=dict(data_root=data_root))\n"
                    f"test_dataloader = val_dataloader\n{extra}")
    return str(path)


def _state(path):
    from sfmm.weights import read_checkpoint
    return read_checkpoint(path, unwrap=False)


def test_resume_continues_from_epoch_2(tmp_path):
    data_root = write_tiny_imagenet(str(tmp_path / 'data'), per_class=6)

    ref_dir = str(tmp_path / 'reference')
    train_tool.main([_write_cfg(tmp_path, data_root, False), '--work-dir', ref_dir])

    wd = str(tmp_path / 'interrupted')
    with pytest.raises(_Interrupted):
        train_tool.main([_write_cfg(tmp_path, data_root, True), '--work-dir', wd])
    assert osp.isfile(osp.join(wd, 'epoch_1.pth'))
    assert not osp.exists(osp.join(wd, 'epoch_2.pth'))

    runner = train_tool.main([_write_cfg(tmp_path, data_root, False), '--work-dir', wd,
                              '--resume'])
    assert runner.epoch == 2 and runner.iter == 6

    # message hub: the loss history spans both epochs (3 iters each)
    loss_hist = runner.message_hub.get_scalar('train/loss')
    assert len(loss_hist.data[0]) == 6
    # scheduler: MultiStepLR(milestones=[1]) -> lr divided by 10 in epoch 2
    lrs = runner.message_hub.get_scalar('train/lr').data[0]
    assert lrs[0] == pytest.approx(0.05) and lrs[-1] == pytest.approx(0.005)

    ref, got = _state(osp.join(ref_dir, 'epoch_2.pth')), _state(osp.join(wd, 'epoch_2.pth'))
    assert got['meta']['epoch'] == 2
    # optimizer (momentum buffers) and scheduler restored: same weights as never stopped
    for key, value in ref['state_dict'].items():
        torch.testing.assert_close(got['state_dict'][key], value, rtol=1e-5, atol=1e-6)
    for pid, s in ref['optimizer']['state'].items():
        torch.testing.assert_close(got['optimizer']['state'][pid]['momentum_buffer'],
                                   s['momentum_buffer'], rtol=1e-5, atol=1e-6)
    assert got['param_schedulers'][0]['last_step'] == ref['param_schedulers'][0]['last_step']


def test_test_tool_loads_a_runner_checkpoint(tmp_path):
    """tools/test.py of a runner checkpoint predicts what the trained model predicts (not
    what a fresh model would), and its top-1 is the one of its saved predictions."""
    data_root = write_tiny_imagenet(str(tmp_path / 'data'))
    wd = str(tmp_path / 'wd')
    cfg = _write_cfg(tmp_path, data_root, False)
    runner = train_tool.main([cfg, '--work-dir', wd, '--cfg-options', 'train_cfg.max_epochs=1'])
    metrics = test_tool.main([cfg, osp.join(wd, 'epoch_1.pth'), '--work-dir', wd,
                              '--out', str(tmp_path / 'preds.pkl')])
    with open(tmp_path / 'preds.pkl', 'rb') as f:
        preds = pickle.load(f)
    scores = torch.stack([torch.as_tensor(p['pred_score']) for p in preds])
    labels = torch.tensor([int(p['gt_label']) for p in preds])
    assert len(preds) == 8 and labels.tolist() == [0] * 4 + [1] * 4  # meta/val.txt order
    top1 = 100. * float((scores.argmax(-1) == labels).float().mean())
    assert metrics['accuracy/top1'] == pytest.approx(top1)

    def predict(model):
        model.eval()
        with torch.no_grad():
            return torch.stack([s.pred_score for batch in runner.val_dataloader
                                for s in model.val_step(batch)])

    # reference: the model the training run ended with (= epoch_1.pth)
    torch.testing.assert_close(scores, predict(runner.model), rtol=1e-5, atol=1e-6)
    # and not the initial weights (which a run that skipped loading would have)
    from mmengine.registry import MODELS
    torch.manual_seed(0)
    fresh = MODELS.build(dict(runner.cfg.model, data_preprocessor=runner.cfg.data_preprocessor))
    assert not torch.allclose(scores, predict(fresh), atol=1e-4)
