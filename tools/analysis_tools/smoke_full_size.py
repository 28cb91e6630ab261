"""Smoke-run every full-size bootstrap config on CPU: build, one training iteration, evaluation.

Examples:
    python tools/analysis_tools/smoke_full_size.py                   # everything (40 min, 2 cores)
    python tools/analysis_tools/smoke_full_size.py --only 'bootstrap/sf-b_*'
    python tools/analysis_tools/smoke_full_size.py --only 'sf-l_clip*' --keep-workdir \
        --workdir /tmp/sfmm_smoke

The unit tests build shrunk models only. This script checks what they cannot: that every
leaf of ``configs/bootstrap`` (``ablations/`` included) builds at its real size from teacher
files of the real architecture, in the format the config names, and runs through the real
tools. Everything happens in a work directory under /tmp (``--workdir``; deleted at the end
unless ``--keep-workdir``), which is the working directory of every stage, so the configs'
relative paths (``checkpoints/...``, ``data/...``, ``work_dirs/...``) resolve inside it.
Nothing is downloaded and nothing is written to the repository.

1. **Data.** ImageNet-1K layout under ``data/imagenet``: 2 train images (one iteration at
   batch 2; ``meta/train.txt`` labels them for the ``cls-loss`` ablation) and 4 val images
   with ``meta/val.txt``. ADE20K layout under ``data/ade/ADEChallengeData2016``: 2 training
   and 2 validation images with 151-value label maps.
2. **Teacher files**, random weights of the architecture ``model_name`` names, written at
   each config's ``teacher.init_cfg.checkpoint`` path in the format its extension names:
   ``sfmm.TimmViTTeacher``: ``.safetensors`` (timm's hub file), ``.pth``/``.bin`` (a timm
   state dict) or ``.npz`` (an original AugReg JAX file, the layout timm's npz loader reads);
   ``sfmm.OpenCLIPTeacher``: a full open_clip state dict (visual and text tower, so that the
   zero-shot head reads its text tower from the same file) as ``.bin``/``.pth`` or
   ``.safetensors``, or OpenAI's TorchScript ``.pt`` (fp16, as released).
3. **Train**, per leaf: the leaf config with ``--cfg-options``-style overrides applied last
   (data root, batch size 2, no workers, 1 epoch = 1 iteration, log every iteration, the work
   dir ``work_dirs/<stem>``), run by the same code as ``tools/train.py`` (its ``merge_args``,
   then ``sfmm.utils.runner.build_runner``). AugReg leaves validate at the end of the epoch
   (through the inherited classifier). A continued-bootstrapping leaf starts from the
   checkpoint its student's ``init_cfg`` names (``work_dirs/sf-b_augreg/epoch_20.pth``): that
   path is linked
   to the last checkpoint of the shorter run, which runs first (added when ``--only`` leaves
   it out).
4. **Test**: ``tools/test.py`` of the leaf's checkpoint through its classification config
   (``configs/classification/<stem>_in1k.py`` or ``<stem>_in1k-zeroshot.py``, else that of
   the leaf it inherits from; ablations that change the cortex get the leaf's ``arch``). The
   eval config must have the leaf's token count and architecture. CLIP leaves are tested
   zero-shot with two class names and one template (the text tower comes from the teacher's
   open_clip file; 1000 classes x 80 prompts through a ViT-L/14 text tower take hours on CPU).
5. **Segmentation**: one training iteration of ``configs/segmentation/sf-{b,l}_augreg_ade20k-
   512x512.py`` at full size (512x512 crops, batch 2), with validation at the end, the backbone
   initialised from the bootstrap checkpoint of ``sf-{b,l}_augreg`` linked to the path the
   config names (``checkpoints/sf-b_augreg.pth``).

Each stage runs in its own Python process (``--in-process`` runs them here instead), with its
log in ``<workdir>/logs``. One line per config gives pass/fail and seconds; the exit status
is 1 if anything failed. ``--tiny`` shrinks every model (for the unit test of this script;
the figures then mean nothing).
"""
import argparse
import copy
import fnmatch
import glob
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from typing import Dict, List, Optional, Tuple

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_ROOT = osp.join(REPO_ROOT, 'configs')
SEG_LEAVES = {  # segmentation leaf -> the bootstrap leaf whose checkpoint it starts from
    'segmentation/sf-b_augreg_ade20k-512x512': 'bootstrap/sf-b_augreg',
    'segmentation/sf-l_augreg_ade20k-512x512': 'bootstrap/sf-l_augreg',
}
ZERO_SHOT_CLASSES = ['goldfish', 'tabby cat']  # labels 0 and 1 of the fabricated val set
ZERO_SHOT_TEMPLATES = ['a photo of a {}.']
TRAIN_IMAGES = [('n01440764/n01440764_1.JPEG', 0), ('n01443537/n01443537_1.JPEG', 1)]
NUM_VAL = 4

# --tiny: shrunk student / teacher / head widths
TINY_STUDENT = dict(focus_dims=64, embed_dims=32, num_layers=2, num_heads=2, mlp_ratio=4)
TINY_TEACHER_DEPTH = 3
TINY_TIMM = dict(embed_dim=32, num_heads=2)
TINY_CLIP_TEXT = dict(context_length=77, vocab_size=49408, width=32, heads=2, layers=1)


# ----------------------------------------------------------------------------- arguments
def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Build, train one iteration and evaluate every full-size bootstrap '
        'config on CPU, from fabricated data and random teacher files')
    parser.add_argument('--only', action='append', default=None, metavar='PATTERN',
                        help='glob on the config path under configs/ without .py '
                        "(e.g. 'bootstrap/sf-l_*', '*ablations*', 'segmentation/*') or on "
                        'its stem; repeatable. Prerequisite runs are added.')
    parser.add_argument('--workdir', default=None,
                        help='work directory (default: a new temporary dir under /tmp)')
    parser.add_argument('--keep-workdir', action='store_true',
                        help='keep the work directory (data, teacher files, checkpoints, logs)')
    parser.add_argument('--no-seg', action='store_true', help='skip the segmentation runs')
    parser.add_argument('--list', action='store_true', help='print the plan and exit')
    parser.add_argument('--in-process', action='store_true',
                        help='run the stages in this process instead of one process each')
    parser.add_argument('--tiny', action='store_true',
                        help='shrink every model (tests of this script only)')
    parser.add_argument('--timeout', type=float, default=3600.,
                        help='seconds allowed per stage process (default 3600)')
    # internal: one stage in a child process
    parser.add_argument('--stage', choices=['train', 'test'], help=argparse.SUPPRESS)
    parser.add_argument('--spec', help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# ----------------------------------------------------------------------------- configs
def _rel(path: str) -> str:
    """``configs/bootstrap/ablations/x.py`` -> ``bootstrap/ablations/x``."""
    return osp.splitext(osp.relpath(path, CONFIG_ROOT))[0].replace(os.sep, '/')


def _config_path(rel: str) -> str:
    return osp.join(CONFIG_ROOT, rel + '.py')


def bootstrap_leaves() -> List[str]:
    """Every bootstrap leaf (``bootstrap/...``), sorted."""
    paths = glob.glob(osp.join(CONFIG_ROOT, 'bootstrap', '**', '*.py'), recursive=True)
    return sorted(_rel(p) for p in paths)


def _load(rel: str):
    from mmengine.config import Config
    return Config.fromfile(_config_path(rel))


def _direct_base(rel: str) -> Optional[str]:
    """The leaf a leaf inherits from (``_base_ = './x.py'``), or None for base-file lists."""
    import re
    with open(_config_path(rel)) as f:
        text = f.read()
    match = re.search(r"^_base_\s*=\s*['\"]([^'\"]+)['\"]", text, re.M)
    if not match:
        return None
    path = osp.normpath(osp.join(osp.dirname(_config_path(rel)), match.group(1)))
    return _rel(path)


def parent_of(cfg, leaves: List[str]) -> Optional[str]:
    """The bootstrap leaf whose output a continued-bootstrapping config starts from."""
    ckpt = student_checkpoint(cfg)
    if not ckpt:
        return None
    stem = osp.basename(osp.dirname(ckpt))
    found = [leaf for leaf in leaves if osp.basename(leaf) == stem]
    if len(found) != 1:
        raise ValueError(f'student init_cfg checkpoint {ckpt!r}: no bootstrap leaf named '
                         f'{stem!r}')
    return found[0]


def student_checkpoint(cfg) -> Optional[str]:
    """The checkpoint a continued-bootstrapping student reads (its backbone's init_cfg)."""
    init_cfg = cfg.model.backbone.get('init_cfg') or {}
    return init_cfg.get('checkpoint')


def eval_config_of(rel: str, clip: bool) -> str:
    """The classification config that evaluates a bootstrap leaf's checkpoint."""
    suffix = '_in1k-zeroshot' if clip else '_in1k'
    leaf: Optional[str] = rel
    while leaf is not None:
        candidate = 'classification/' + osp.basename(leaf) + suffix
        if osp.isfile(_config_path(candidate)):
            return candidate
        leaf = _direct_base(leaf)
    raise FileNotFoundError(f'{rel}: no configs/classification/<stem>{suffix}.py for it or '
                            'the leaves it inherits from')


def _plain(node):
    """ConfigDict -> dict, recursively."""
    if hasattr(node, 'to_dict'):
        return node.to_dict()
    return node


def _arch_dict(arch) -> dict:
    from sfmm.models.backbones import SparseFormer
    return dict(SparseFormer.arch_zoo[arch]) if isinstance(arch, str) else dict(_plain(arch))


# ----------------------------------------------------------------------------- data
def _image(size: Tuple[int, int], seed: int):
    """A random but structured RGB image (smooth colour field plus blocks)."""
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(seed)
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    img = np.stack([np.sin(6.28 * (xx * rng.uniform(1, 4) + c)) for c in rng.uniform(0, 1, 3)],
                   axis=-1) * 80 + 128
    for _ in range(6):
        y0, x0 = rng.integers(0, h // 2), rng.integers(0, w // 2)
        img[y0:y0 + h // 4, x0:x0 + w // 4] = rng.integers(0, 255, 3)
    img += rng.normal(0, 10, img.shape)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def write_imagenet(root: str) -> str:
    """``train/<wnid>/*.JPEG`` + ``meta/train.txt``, ``val/*.JPEG`` + ``meta/val.txt``."""
    os.makedirs(osp.join(root, 'meta'), exist_ok=True)
    lines = []
    for i, (rel, label) in enumerate(TRAIN_IMAGES):
        os.makedirs(osp.dirname(osp.join(root, 'train', rel)), exist_ok=True)
        _image((375, 500), seed=i).save(osp.join(root, 'train', rel), quality=90)
        lines.append(f'{rel} {label}')
    with open(osp.join(root, 'meta', 'train.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    os.makedirs(osp.join(root, 'val'), exist_ok=True)
    lines = []
    for i in range(NUM_VAL):
        name = f'ILSVRC2012_val_{i + 1:08d}.JPEG'
        _image((400, 300) if i % 2 else (333, 500), seed=100 + i).save(
            osp.join(root, 'val', name), quality=90)
        lines.append(f'{name} {i % 2}')
    with open(osp.join(root, 'meta', 'val.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return root


def write_ade20k(root: str) -> str:
    """``images/{training,validation}/*.jpg`` + ``annotations/.../*.png`` (labels 0..150)."""
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(7)
    for split in ('training', 'validation'):
        os.makedirs(osp.join(root, 'images', split), exist_ok=True)
        os.makedirs(osp.join(root, 'annotations', split), exist_ok=True)
        for i in range(2):
            h, w = (512, 683) if i == 0 else (600, 512)
            name = f'ADE_{"train" if split == "training" else "val"}_{i + 1:08d}'
            _image((h, w), seed=200 + i + (split == 'validation') * 10).save(
                osp.join(root, 'images', split, name + '.jpg'), quality=90)
            label = np.zeros((h, w), np.uint8)
            for k in range(8):  # rectangles of random classes on "other" (0)
                y0, x0 = rng.integers(0, h - 64), rng.integers(0, w - 64)
                label[y0:y0 + rng.integers(64, h // 2), x0:x0 + rng.integers(64, w // 2)] = \
                    rng.integers(1, 151)
            Image.fromarray(label).save(osp.join(root, 'annotations', split, name + '.png'))
    return root


# ----------------------------------------------------------------------------- teachers
def _timm_npz_arrays(model) -> Dict[str, 'object']:
    """A timm ViT's weights in the original AugReg ``.npz`` layout (timm's npz loader inverse).

    Args:
        model: a ``timm.models.vision_transformer.VisionTransformer`` (no register tokens,
            [CLS] pooling, ``Linear`` head).

    Returns:
        dict: name -> float32 NumPy array.
    """
    def a(t):
        return t.detach().float().cpu().numpy()

    dim = model.embed_dim
    out = {
        'embedding/kernel': a(model.patch_embed.proj.weight.permute(2, 3, 1, 0)),
        'embedding/bias': a(model.patch_embed.proj.bias),
        'cls': a(model.cls_token),
        'Transformer/posembed_input/pos_embedding': a(model.pos_embed),
        'Transformer/encoder_norm/scale': a(model.norm.weight),
        'Transformer/encoder_norm/bias': a(model.norm.bias),
        'head/kernel': a(model.head.weight.t()),
        'head/bias': a(model.head.bias),
    }
    for i, block in enumerate(model.blocks):
        p = f'Transformer/encoderblock_{i}/'
        heads = block.attn.num_heads
        out[p + 'LayerNorm_0/scale'] = a(block.norm1.weight)
        out[p + 'LayerNorm_0/bias'] = a(block.norm1.bias)
        out[p + 'LayerNorm_2/scale'] = a(block.norm2.weight)
        out[p + 'LayerNorm_2/bias'] = a(block.norm2.bias)
        qkv_w = block.attn.qkv.weight.reshape(3, dim, dim)
        qkv_b = block.attn.qkv.bias.reshape(3, dim)
        for j, name in enumerate(('query', 'key', 'value')):
            mha = p + f'MultiHeadDotProductAttention_1/{name}/'
            out[mha + 'kernel'] = a(qkv_w[j].t().reshape(dim, heads, dim // heads))
            out[mha + 'bias'] = a(qkv_b[j].reshape(heads, dim // heads))
        mha = p + 'MultiHeadDotProductAttention_1/out/'
        out[mha + 'kernel'] = a(block.attn.proj.weight.reshape(dim, heads, dim // heads)
                                .permute(1, 2, 0))
        out[mha + 'bias'] = a(block.attn.proj.bias)
        for r, fc in enumerate((block.mlp.fc1, block.mlp.fc2)):
            out[p + f'MlpBlock_3/Dense_{r}/kernel'] = a(fc.weight.t())
            out[p + f'MlpBlock_3/Dense_{r}/bias'] = a(fc.bias)
    return out


def _save_torchscript_state(state: Dict[str, 'object'], path: str) -> None:
    """Save ``state`` as a TorchScript archive whose ``state_dict()`` is ``state`` (the form
    of OpenAI's released CLIP ``.pt`` files)."""
    import torch
    from torch import nn
    root = nn.Module()
    for key, value in state.items():
        *parents, leaf = key.split('.')
        module = root
        for name in parents:
            if name not in module._modules:
                module.add_module(name, nn.Module())
            module = module._modules[name]
        if value.is_floating_point():
            module.register_parameter(leaf, nn.Parameter(value, requires_grad=False))
        else:
            module.register_buffer(leaf, value)
    torch.jit.script(root).save(path)


def write_teacher_file(teacher: dict, path: str, tiny_depth: Optional[int] = None) -> str:
    """Write random weights of ``teacher``'s architecture at ``path``, in its format.

    Args:
        teacher (dict): the config's teacher dict (``type``, ``model_name``, ``model_kwargs``
            or ``model_cfg``).
        path (str): the file to write; its extension selects the format.
        tiny_depth (int, optional): ``--tiny``: build a narrow teacher of this depth.

    Returns:
        str: a short description (format, tensors, size).
    """
    import torch
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    ext = osp.splitext(path)[1]
    torch.manual_seed(0)
    kind = teacher['type'].split('.')[-1]
    if kind == 'TimmViTTeacher':
        import timm
        kwargs = dict(teacher.get('model_kwargs') or {})
        if tiny_depth is not None:
            kwargs.update(TINY_TIMM, depth=tiny_depth)
        model = timm.create_model(teacher['model_name'], pretrained=False, **kwargs)
        if ext == '.npz':
            import numpy as np
            arrays = _timm_npz_arrays(model)
            np.savez(path, **arrays)
            count, fmt = len(arrays), 'AugReg npz'
        else:
            state = {k: v.contiguous() for k, v in model.state_dict().items()}
            if ext == '.safetensors':
                from safetensors.torch import save_file
                save_file(state, path)
                fmt = 'timm safetensors'
            elif ext in ('.pth', '.bin', '.pt'):
                torch.save(state, path)
                fmt = 'timm state dict'
            else:
                raise ValueError(f'{path}: unknown timm weight format {ext!r}')
            count = len(state)
    elif kind == 'OpenCLIPTeacher':
        import open_clip
        from open_clip.model import CLIP
        cfg = teacher.get('model_cfg') or open_clip.get_model_config(teacher['model_name'])
        cfg = dict(cfg)
        if tiny_depth is not None:
            cfg['vision_cfg'] = dict(cfg['vision_cfg'], width=32, head_width=16,
                                     layers=tiny_depth)
            cfg['text_cfg'] = dict(TINY_CLIP_TEXT)
            cfg['embed_dim'] = 16
        if 'text_cfg' not in cfg:
            raise ValueError(f'{path}: the teacher config has no text tower to write')
        model = CLIP(cfg['embed_dim'], cfg['vision_cfg'], cfg['text_cfg'], quick_gelu=True)
        state = {k: v.contiguous() for k, v in model.state_dict().items()}
        if ext == '.pt':
            state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
            state.update(input_resolution=torch.tensor(model.visual.image_size[0]),
                         context_length=torch.tensor(model.context_length),
                         vocab_size=torch.tensor(model.vocab_size))
            _save_torchscript_state(state, path)
            fmt = 'OpenAI TorchScript (fp16)'
        elif ext == '.safetensors':
            from safetensors.torch import save_file
            save_file(state, path)
            fmt = 'open_clip safetensors'
        elif ext in ('.bin', '.pth'):
            torch.save(state, path)
            fmt = 'open_clip state dict'
        else:
            raise ValueError(f'{path}: unknown CLIP weight format {ext!r}')
        count = len(state)
    else:
        raise ValueError(f'no teacher-file writer for {teacher["type"]}')
    del model
    return f'{fmt}, {count} tensors, {osp.getsize(path) / 2**20:.0f} MiB'


# ----------------------------------------------------------------------------- overrides
def _loader(data_root: str) -> dict:
    return dict(batch_size=2, num_workers=0, persistent_workers=False,
                dataset=dict(data_root=data_root))


def _tiny_train_overrides(cfg, truncate: int) -> dict:
    """Shrunk widths; the teacher has TINY_TEACHER_DEPTH blocks, the student's cortex the
    ones after ``min(truncate, 1)`` truncated blocks (``truncate``: that of the run the
    student comes from, for continued bootstrapping)."""
    model = cfg.model
    clip = model.teacher.type.endswith('OpenCLIPTeacher')
    truncate = min(truncate, 1)
    layers = TINY_TEACHER_DEPTH - truncate
    arch = _arch_dict(model.backbone.arch)
    tiny = dict(TINY_STUDENT, num_layers=layers, act=arch.get('act', 'gelu'),
                proj_dims=16 if arch.get('proj_dims') else None)
    tokens = model.backbone.num_latent_tokens
    over = dict(backbone=dict(arch=dict(tiny, _delete_=True), conv_channels=16,
                              num_latent_tokens=min(tokens, 8) + (tokens > 48)))
    if model.get('inherit'):
        over['inherit'] = dict(truncate=truncate)
    if model.get('num_tunable') is not None:
        over['num_tunable'] = min(model.num_tunable, layers)
    if clip:
        import open_clip
        vcfg = dict(open_clip.get_model_config(model.teacher.model_name)['vision_cfg'],
                    width=32, head_width=16, layers=TINY_TEACHER_DEPTH)
        over['teacher'] = dict(model_cfg=dict(embed_dim=16, vision_cfg=vcfg))
    else:
        over['teacher'] = dict(model_kwargs=dict(TINY_TIMM, depth=TINY_TEACHER_DEPTH))
    if model.get('head'):
        over['head'] = dict(in_channels=32)
    return dict(model=over)


def _tiny_eval_overrides(tiny_backbone: dict, clip: bool) -> dict:
    backbone = dict(arch=dict(tiny_backbone['arch'], _delete_=True), conv_channels=16,
                    num_latent_tokens=tiny_backbone['num_latent_tokens'])
    if clip:
        head = dict(text_encoder=dict(model_cfg=dict(embed_dim=16, text_cfg=dict(TINY_CLIP_TEXT))))
    else:
        head = dict(in_channels=32)
    return dict(model=dict(backbone=backbone, head=head))


def train_overrides(cfg, workdir: str, tiny: bool, truncate: int = 0) -> dict:
    """``--cfg-options``-style overrides of a bootstrap leaf for one CPU iteration."""
    imagenet = osp.join(workdir, 'data', 'imagenet')
    over = dict(train_dataloader=_loader(imagenet), train_cfg=dict(max_epochs=1),
                default_hooks=dict(logger=dict(interval=1)))
    if cfg.get('val_dataloader') is not None:
        over['val_dataloader'] = _loader(imagenet)
        over['test_dataloader'] = _loader(imagenet)
    if tiny:
        over.update(_tiny_train_overrides(cfg, truncate))
    return over


def eval_overrides(train_cfg, eval_cfg, workdir: str,
                   ablation: bool) -> Tuple[dict, List[str]]:
    """Overrides of the classification config that tests a leaf's checkpoint, and notes.

    Raises:
        ValueError: if the eval config's student differs from the leaf's (tokens, or the
            architecture of a non-ablation leaf).
    """
    notes = []
    t_bb, e_bb = train_cfg.model.backbone, eval_cfg.model.backbone
    if t_bb.num_latent_tokens != e_bb.num_latent_tokens:
        raise ValueError(f'{eval_cfg.filename}: {e_bb.num_latent_tokens} latent tokens, the '
                         f'bootstrap leaf has {t_bb.num_latent_tokens}')
    over: dict = dict(test_dataloader=_loader(osp.join(workdir, 'data', 'imagenet')))
    if _arch_dict(t_bb.arch) != _arch_dict(e_bb.arch):
        if not ablation:
            raise ValueError(f'{eval_cfg.filename}: arch {e_bb.arch} differs from the '
                             f'bootstrap leaf\'s {t_bb.arch}')
        arch = _plain(t_bb.arch)
        over['model'] = dict(backbone=dict(
            arch=dict(arch, _delete_=True) if isinstance(arch, dict) else arch))
        notes.append('arch from the ablation leaf')
    clip = eval_cfg.model.head.type.endswith('ZeroShotClsHead')
    if clip:
        over.setdefault('model', {})['head'] = dict(classnames=list(ZERO_SHOT_CLASSES),
                                                    templates=list(ZERO_SHOT_TEMPLATES))
        over['test_evaluator'] = dict(topk=(1, ))  # top-5 of 2 classes is undefined
        notes.append(f'zero-shot: {len(ZERO_SHOT_CLASSES)} classes x '
                     f'{len(ZERO_SHOT_TEMPLATES)} template')
    return over, notes


def seg_overrides(workdir: str, tiny: bool) -> dict:
    ade = osp.join(workdir, 'data', 'ade', 'ADEChallengeData2016')
    over = dict(train_dataloader=_loader(ade), val_dataloader=_loader(ade),
                test_dataloader=_loader(ade),
                train_cfg=dict(max_iters=1, val_interval=1),
                default_hooks=dict(logger=dict(interval=1),
                                   checkpoint=dict(interval=1, save_best=None)))
    over['val_dataloader']['batch_size'] = 1
    over['test_dataloader']['batch_size'] = 1
    if tiny:
        over['model'] = dict(backbone=dict(arch=dict(TINY_STUDENT, _delete_=True),
                                           num_latent_tokens=15, conv_channels=16),
                             decode_head=dict(in_channels=(16, 4, 32), channels=32))
    return over


# ----------------------------------------------------------------------------- stages
def run_stage(spec: dict) -> dict:
    """Run one stage in this process, as tools/train.py / tools/test.py would.

    ``spec``: ``stage`` ('train' | 'test'), ``config`` (path), ``work_dir``, ``checkpoint``
    (test), ``overrides`` (dict, merged last like ``--cfg-options``).
    """
    sys.path.insert(0, REPO_ROOT)
    import importlib.util

    from mmengine.config import Config

    from sfmm.utils.runner import build_runner

    tool = osp.join(REPO_ROOT, 'tools', spec['stage'] + '.py')
    mod_spec = importlib.util.spec_from_file_location('sfmm_smoke_' + spec['stage'], tool)
    module = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(module)
    argv = [spec['config']]
    if spec['stage'] == 'test':
        argv.append(spec['checkpoint'])
    argv += ['--work-dir', spec['work_dir']]
    args = module.parse_args(argv)
    cfg = module.merge_args(Config.fromfile(spec['config']), args)
    cfg.merge_from_dict(copy.deepcopy(spec['overrides']))  # as --cfg-options: last
    os.makedirs(cfg.work_dir, exist_ok=True)
    runner = build_runner(cfg)
    if spec['stage'] == 'train':
        runner.train()
        result = dict(last_checkpoint=_last_checkpoint(cfg.work_dir))
    else:
        result = dict(metrics={k: float(v) for k, v in runner.test().items()
                               if isinstance(v, (int, float))})
    from sfmm.utils.dist import close_distributed
    close_distributed()
    return result


def _last_checkpoint(work_dir: str) -> str:
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip()


def launch(spec: dict, workdir: str, log: str, in_process: bool, timeout: float) -> dict:
    """Run a stage in a child process (cwd = ``workdir``), logging to ``log``."""
    os.makedirs(osp.dirname(log), exist_ok=True)
    if in_process:
        cwd = os.getcwd()
        os.chdir(workdir)
        try:
            return run_stage(spec)
        finally:
            os.chdir(cwd)
    spec_file = log[:-len('.log')] + '.json'
    with open(spec_file, 'w') as f:
        json.dump(spec, f, indent=1)
    result_file = spec_file + '.result'
    if osp.exists(result_file):
        os.remove(result_file)
    env = dict(os.environ, PYTHONPATH=REPO_ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    with open(log, 'w') as out:
        proc = subprocess.run([sys.executable, osp.abspath(__file__), '--stage', spec['stage'],
                               '--spec', spec_file], cwd=workdir, env=env, stdout=out,
                              stderr=subprocess.STDOUT, timeout=timeout)
    if proc.returncode != 0 or not osp.isfile(result_file):
        with open(log) as f:
            tail = [line.rstrip() for line in f.read().splitlines() if line.strip()][-12:]
        raise RuntimeError(f'exit status {proc.returncode}; log {log}:\n    ' +
                           '\n    '.join(tail))
    with open(result_file) as f:
        return json.load(f)


def _stage_main(args: argparse.Namespace) -> int:
    with open(args.spec) as f:
        spec = json.load(f)
    result = run_stage(spec)
    with open(args.spec + '.result', 'w') as f:
        json.dump(result, f)
    return 0


def _link(target: str, link: str) -> None:
    """``link`` -> ``target`` (relative symlink), replacing an older one."""
    os.makedirs(osp.dirname(osp.abspath(link)), exist_ok=True)
    if osp.lexists(link):
        os.remove(link)
    os.symlink(osp.relpath(osp.abspath(target), osp.dirname(osp.abspath(link))), link)


# ----------------------------------------------------------------------------- plan
def make_plan(patterns: Optional[List[str]], with_seg: bool
              ) -> Tuple[List[Tuple[str, bool]], Dict[str, Optional[str]]]:
    """The configs to run, in order, as ``[(config, selected)]`` (unselected ones are
    prerequisites of selected ones), and each one's prerequisite (None: none)."""
    leaves = bootstrap_leaves()
    candidates = leaves + (list(SEG_LEAVES) if with_seg else [])

    def wanted(rel: str) -> bool:
        if not patterns:
            return True
        return any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(osp.basename(rel), p)
                   for p in patterns)

    selected = [rel for rel in candidates if wanted(rel)]
    if patterns and not selected:
        raise SystemExit(f'--only {patterns}: no config matches')
    parents: Dict[str, Optional[str]] = {}
    order: List[str] = []

    def add(rel: str) -> None:
        if rel in order:
            return
        if rel not in parents:
            parents[rel] = SEG_LEAVES.get(rel) or parent_of(_load(rel), leaves)
        if parents[rel]:
            add(parents[rel])
        order.append(rel)

    for rel in selected:
        add(rel)
    # bootstrap runs first (shorter runs before the runs that continue them), then seg
    order.sort(key=lambda r: (r.startswith('segmentation/'), _depth(r, parents),
                              '/ablations/' in r, r))
    return [(rel, rel in selected) for rel in order], parents


def _depth(rel: str, parents: Dict[str, Optional[str]]) -> int:
    depth = 0
    while parents.get(rel):
        rel, depth = parents[rel], depth + 1
    return depth


# ----------------------------------------------------------------------------- main
class _Smoke:
    """The state of one smoke run: work dir, options, checkpoints and teacher files made."""

    def __init__(self, args: argparse.Namespace, workdir: str) -> None:
        self.args = args
        self.workdir = workdir
        self.leaves = bootstrap_leaves()
        self.checkpoints: Dict[str, str] = {}  # config -> its last checkpoint (workdir-relative)
        self.teachers: Dict[str, str] = {}  # teacher file -> description

    def _launch(self, spec: dict, rel: str) -> dict:
        log = osp.join(self.workdir, 'logs', f'{osp.basename(rel)}.{spec["stage"]}.log')
        return launch(spec, self.workdir, log, self.args.in_process, self.args.timeout)

    def _link_parent(self, parent: str, path: str) -> None:
        """Link ``path`` (the config's name for it) to ``parent``'s last checkpoint."""
        if parent not in self.checkpoints:
            raise RuntimeError(f'no checkpoint to start from: {parent} did not train')
        _link(osp.join(self.workdir, self.checkpoints[parent]), osp.join(self.workdir, path))

    def bootstrap(self, rel: str, times: dict, detail: list) -> None:
        """Teacher file, one training iteration, then tools/test.py of the checkpoint."""
        args, cfg = self.args, _load(rel)
        clip = cfg.model.teacher.type.endswith('OpenCLIPTeacher')
        parent = parent_of(cfg, self.leaves)
        inherit = (_load(parent) if parent else cfg).model.get('inherit') or {}
        overrides = train_overrides(cfg, self.workdir, args.tiny, inherit.get('truncate', 0))
        teacher = _plain(cfg.model.teacher)
        if args.tiny:
            teacher.update(overrides['model']['teacher'])
        teacher_file = teacher['init_cfg']['checkpoint']
        path = osp.join(self.workdir, teacher_file)
        if path not in self.teachers:
            t = time.time()
            self.teachers[path] = write_teacher_file(
                teacher, path, TINY_TEACHER_DEPTH if args.tiny else None)
            times['teacher'] = time.time() - t
            detail.append(f'teacher {teacher_file} ({self.teachers[path]})')
        if parent is not None:
            self._link_parent(parent, student_checkpoint(cfg))
            detail.append(f'continues {osp.basename(parent)} ({student_checkpoint(cfg)})')

        t = time.time()
        out = self._launch(dict(stage='train', config=_config_path(rel), overrides=overrides,
                                work_dir=osp.join('work_dirs', osp.basename(rel))), rel)
        times['train'] = time.time() - t
        ckpt = osp.relpath(osp.join(self.workdir, out['last_checkpoint']), self.workdir)
        self.checkpoints[rel] = ckpt

        eval_rel = eval_config_of(rel, clip)
        eval_over, notes = eval_overrides(cfg, _load(eval_rel), self.workdir,
                                          '/ablations/' in '/' + rel)
        if args.tiny:
            _merge(eval_over, _tiny_eval_overrides(overrides['model']['backbone'], clip))
        t = time.time()
        out = self._launch(dict(stage='test', config=_config_path(eval_rel), checkpoint=ckpt,
                                work_dir=osp.join('work_dirs', osp.basename(rel) + '_test'),
                                overrides=eval_over), rel)
        times['test'] = time.time() - t
        detail.append(f'{osp.basename(eval_rel)}: top-1 {out["metrics"]["accuracy/top1"]:.1f}'
                      + ''.join(f', {n}' for n in notes))

    def segment(self, rel: str, times: dict, detail: list) -> None:
        """One segmenter training iteration (+ validation) from a bootstrap checkpoint."""
        cfg = _load(rel)
        self._link_parent(SEG_LEAVES[rel], cfg.model.backbone.init_cfg.checkpoint)
        detail.append(f'backbone from {osp.basename(SEG_LEAVES[rel])} '
                      f'({cfg.model.backbone.init_cfg.checkpoint})')
        t = time.time()
        out = self._launch(dict(stage='train', config=_config_path(rel),
                                work_dir=osp.join('work_dirs', osp.basename(rel)),
                                overrides=seg_overrides(self.workdir, self.args.tiny)), rel)
        times['train'] = time.time() - t
        self.checkpoints[rel] = osp.relpath(osp.join(self.workdir, out['last_checkpoint']),
                                            self.workdir)


def run(args: argparse.Namespace) -> int:
    start = time.time()
    plan, parents = make_plan(args.only, not args.no_seg)
    if args.list:
        for rel, selected in plan:
            print(('  ' if selected else '+ ') + rel)
        return 0
    workdir = osp.abspath(args.workdir or tempfile.mkdtemp(prefix='sfmm_smoke_', dir='/tmp'))
    if osp.commonpath([workdir, REPO_ROOT]) == REPO_ROOT:
        raise SystemExit(f'--workdir {workdir} is inside the repository; use a dir under /tmp')
    os.makedirs(osp.join(workdir, 'logs'), exist_ok=True)
    print(f'work dir: {workdir}', flush=True)
    write_imagenet(osp.join(workdir, 'data', 'imagenet'))
    if any(rel.startswith('segmentation/') for rel, _ in plan):
        write_ade20k(osp.join(workdir, 'data', 'ade', 'ADEChallengeData2016'))

    smoke = _Smoke(args, workdir)
    failed = []
    for rel, selected in plan:
        t0, times, detail = time.time(), {}, []
        try:
            if rel.startswith('segmentation/'):
                smoke.segment(rel, times, detail)
            else:
                smoke.bootstrap(rel, times, detail)
            status = 'PASS'
        except Exception as exc:  # noqa: BLE001 - report every failure and go on
            status = 'FAIL'
            failed.append(rel)
            detail.append(str(exc) if isinstance(exc, RuntimeError) else
                          ''.join(traceback.format_exception_only(type(exc), exc)).strip())
        stages = '  '.join(f'{k} {v:.0f}s' for k, v in times.items())
        print(f'{status}  {rel:<44s} {time.time() - t0:6.0f}s  ({stages})'
              f'{"" if selected else "  [prerequisite]"}', flush=True)
        for d in detail:
            print('      ' + d.replace('\n', '\n      '), flush=True)
        if not args.keep_workdir:
            _prune(workdir, plan, rel, parents)

    print(f'\n{len(plan) - len(failed)} passed, {len(failed)} failed, '
          f'{time.time() - start:.0f}s in all' + (f': {", ".join(failed)}' if failed else ''))
    if args.keep_workdir:
        print(f'kept {workdir}')
    elif failed:  # keep the logs of the failures, drop the big files
        for name in os.listdir(workdir):
            if name != 'logs':
                shutil.rmtree(osp.join(workdir, name), ignore_errors=True)
        print(f'logs kept in {osp.join(workdir, "logs")}')
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


def _merge(a: dict, b: dict) -> dict:
    for key, value in b.items():
        if isinstance(value, dict) and isinstance(a.get(key), dict):
            _merge(a[key], value)
        else:
            a[key] = value
    return a


def _prune(workdir: str, plan: List[Tuple[str, bool]], done: str,
           parents: Dict[str, Optional[str]]) -> None:
    """Delete the work dirs no later run needs (a full-size checkpoint takes 1-2 GB)."""
    names = [rel for rel, _ in plan]
    later = names[names.index(done) + 1:]
    needed = {parents.get(rel) for rel in later}
    for rel in names[:names.index(done) + 1]:
        if rel not in needed:
            for suffix in ('', '_test'):
                shutil.rmtree(osp.join(workdir, 'work_dirs', osp.basename(rel) + suffix),
                              ignore_errors=True)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.stage:
        return _stage_main(args)
    return run(args)


if __name__ == '__main__':
    sys.exit(main())
