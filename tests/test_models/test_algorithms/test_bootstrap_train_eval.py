"""End to end: tools/train.py on configs/bootstrap/sf-b_augreg.py (shrunk), tiny unlabeled
images, then tools/test.py of the checkpoint with configs/classification/sf-b_augreg_in1k.py,
which must give the trained bootstrapper's own predictions."""
import os.path as osp
import pickle

import pytest
import timm
import torch

from conftest import REPO_ROOT, load_tool, write_tiny_imagenet

TIMM_KW = dict(img_size=32, embed_dim=32, depth=3, num_heads=2, num_classes=10)
TINY_ARCH = ("dict(_delete_=True, focus_dims=64, embed_dims=32, num_layers=2, num_heads=2), "
             "num_latent_tokens=8, num_points=4, conv_channels=16")
PIPE_TRAIN = ("[dict(type='LoadImageFromFile'), dict(type='RandomResizedCrop', scale=32, "
              "crop_ratio_range=(0.5, 1.0)), dict(type='RandomFlip', prob=0.5), "
              "dict(type='PackInputs')]")
PIPE_TEST = ("[dict(type='LoadImageFromFile'), dict(type='ResizeEdge', scale=36, edge='short'), "
             "dict(type='CenterCrop', crop_size=32), dict(type='PackInputs')]")
LOADER = "batch_size=4, num_workers=0, persistent_workers=False"


def test_bootstrap_then_evaluate_as_classifier(tmp_path):
    data_root = write_tiny_imagenet(str(tmp_path / 'data'), per_class=4)
    torch.manual_seed(0)
    teacher = timm.create_model('vit_base_patch16_224', pretrained=False, **TIMM_KW)
    teacher_path = str(tmp_path / 'teacher.pth')
    torch.save(teacher.state_dict(), teacher_path)

    train_cfg = tmp_path / 'boot.py'
    train_cfg.write_text(f"""
_base_ = [{osp.join(REPO_ROOT, 'configs/bootstrap/sf-b_augreg.py')!r}]
model = dict(
    backbone=dict(arch={TINY_ARCH}),
    teacher=dict(model_name='vit_base_patch16_224', init_cfg=dict(checkpoint={teacher_path!r}),
                 model_kwargs={TIMM_KW!r}),
    head=dict(num_classes=10, in_channels=32),
    inherit=dict(truncate=1), num_tunable=1)
train_dataloader = dict({LOADER}, dataset=dict(data_root={data_root!r}, pipeline={PIPE_TRAIN}))
val_dataloader = dict({LOADER}, dataset=dict(data_root={data_root!r}, pipeline={PIPE_TEST}))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=2, val_interval=1)
default_hooks = dict(logger=dict(interval=1))
""")
    work_dir = str(tmp_path / 'work')
    runner = load_tool('tools/train.py').main([str(train_cfg), '--work-dir', work_dir])
    model = runner.model
    # labels were never read: the training set is a with_label=False CustomDataset
    assert 'gt_label' not in runner.train_dataloader.dataset[0]['data_samples']
    assert runner.epoch == 2
    assert model.inherit_report is not None
    # the inherited tunable block was frozen in epoch 0 and trained in epoch 1 (hook ran)
    assert model.backbone.blocks[0].attn.qkv.weight.requires_grad
    assert not model.backbone.blocks[1].attn.qkv.weight.requires_grad

    ckpt = osp.join(work_dir, 'epoch_2.pth')
    from sfmm.weights import read_checkpoint
    state = read_checkpoint(ckpt)
    assert not any(k.startswith('teacher.') for k in state)
    assert torch.equal(state['backbone.blocks.1.attn.qkv.weight'],
                       teacher.blocks[2].attn.qkv.weight)  # frozen block kept its weights
    assert not torch.equal(state['backbone.blocks.0.attn.qkv.weight'],
                           teacher.blocks[1].attn.qkv.weight)  # tuned block moved

    # --resume (sfmm.Runner, strict) from a checkpoint without teacher keys: the teacher
    # keeps the weights its file gave it, the student continues where epoch 1 ended
    resumed = load_tool('tools/train.py').main(
        [str(train_cfg), '--work-dir', str(tmp_path / 'resumed'), '--resume',
         osp.join(work_dir, 'epoch_1.pth')])
    assert type(resumed).__name__ == 'Runner' and type(resumed).__module__ == 'sfmm.engine.runner'
    assert resumed.epoch == 2
    assert torch.equal(resumed.model.teacher.model.blocks[2].attn.qkv.weight,
                       teacher.blocks[2].attn.qkv.weight)

    eval_cfg = tmp_path / 'cls.py'
    eval_cfg.write_text(f"""
_base_ = [{osp.join(REPO_ROOT, 'configs/classification/sf-b_augreg_in1k.py')!r}]
model = dict(backbone=dict(arch={TINY_ARCH}), head=dict(num_classes=10, in_channels=32))
test_dataloader = dict({LOADER}, dataset=dict(data_root={data_root!r}, pipeline={PIPE_TEST}))
""")
    preds_file = str(tmp_path / 'preds.pkl')
    metrics = load_tool('tools/test.py').main(
        [str(eval_cfg), ckpt, '--work-dir', str(tmp_path / 'eval'), '--out', preds_file])
    with open(preds_file, 'rb') as f:
        preds = pickle.load(f)

    # reference: the bootstrapper that was just trained, predicting through its own
    # (inherited) head on the same val images; the classification config must reproduce it
    model.eval()
    ref_scores, ref_labels = [], []
    with torch.no_grad():
        for batch in runner.val_dataloader:
            for sample in model.val_step(batch):
                ref_scores.append(sample.pred_score)
                ref_labels.append(int(sample.gt_label))
    scores = torch.stack([torch.as_tensor(p['pred_score']) for p in preds])
    assert [int(p['gt_label']) for p in preds] == ref_labels
    torch.testing.assert_close(scores, torch.stack(ref_scores), rtol=1e-4, atol=1e-6)
    assert not torch.allclose(scores[0], scores[-1])  # the predictions depend on the image
    top1 = 100. * float((scores.argmax(-1) == torch.tensor(ref_labels)).float().mean())
    assert metrics['accuracy/top1'] == pytest.approx(top1)
