"""Weight inheritance: build a SparseFormer's cortex, final norm and head from a ViT teacher.

Paper: "Bootstrapping SparseFormers from Vision Foundation Models", sec. 3.2
(https://arxiv.org/abs/2312.01987). Cortex block ``k`` of the student is initialised from
teacher block ``truncate + k``; the final LayerNorm and the projection / classifier are the
teacher's. The teacher's patch embedding, positional embedding, class token, pre-norm and the
truncated leading blocks are dropped, and every dropped key is listed with its reason.

Three teacher layouts are read through explicit key maps (no regexes guessing names):

Canonical name <- timm ``VisionTransformer`` | mmpretrain ``ImageClassifier`` | open_clip visual:

- ``blocks.i.norm1`` <- ``blocks.i.norm1`` | ``backbone.layers.i.ln1`` |
  ``transformer.resblocks.i.ln_1``
- ``blocks.i.attn.qkv`` <- ``blocks.i.attn.qkv`` | ``backbone.layers.i.attn.qkv`` |
  ``...attn.in_proj_{weight,bias}``
- ``blocks.i.attn.proj`` <- ``blocks.i.attn.proj`` | ``backbone.layers.i.attn.proj`` |
  ``...attn.out_proj``
- ``blocks.i.norm2`` <- ``blocks.i.norm2`` | ``backbone.layers.i.ln2`` | ``...ln_2``
- ``blocks.i.mlp.fc1`` <- ``blocks.i.mlp.fc1`` | ``backbone.layers.i.ffn.layers.0.0`` |
  ``...mlp.c_fc``
- ``blocks.i.mlp.fc2`` <- ``blocks.i.mlp.fc2`` | ``backbone.layers.i.ffn.layers.1`` |
  ``...mlp.c_proj``
- ``norm`` <- ``norm`` | ``backbone.ln1`` | ``ln_post``
- ``head`` (classifier) <- ``head`` (with bias) | ``head.layers.head`` or ``head.fc`` | -
- ``proj.weight`` ``(E, D)`` <- ``head.weight`` (no bias) | - | ``proj`` ``(D, E)`` transposed

Student keys (the agreed SparseFormer names): ``{backbone}blocks.k.*``, ``{backbone}norm.*``,
``{backbone}proj.*`` and, for a classifier student, ``{head}weight`` / ``{head}bias``.
"""
import re
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

import torch

Tensor = torch.Tensor

LAYOUTS = ('timm', 'mmpretrain', 'open_clip')

# Parameter names inside one canonical (timm-named) transformer block.
BLOCK_PARAMS = ('norm1.weight', 'norm1.bias', 'attn.qkv.weight', 'attn.qkv.bias',
                'attn.proj.weight', 'attn.proj.bias', 'norm2.weight', 'norm2.bias',
                'mlp.fc1.weight', 'mlp.fc1.bias', 'mlp.fc2.weight', 'mlp.fc2.bias')

_MMPRETRAIN_BLOCK = {
    'ln1': 'norm1', 'attn.qkv': 'attn.qkv', 'attn.proj': 'attn.proj', 'ln2': 'norm2',
    'ffn.layers.0.0': 'mlp.fc1', 'ffn.layers.1': 'mlp.fc2'}
_OPEN_CLIP_BLOCK = {
    'ln_1.weight': 'norm1.weight', 'ln_1.bias': 'norm1.bias',
    'attn.in_proj_weight': 'attn.qkv.weight', 'attn.in_proj_bias': 'attn.qkv.bias',
    'attn.out_proj.weight': 'attn.proj.weight', 'attn.out_proj.bias': 'attn.proj.bias',
    'ln_2.weight': 'norm2.weight', 'ln_2.bias': 'norm2.bias',
    'mlp.c_fc.weight': 'mlp.fc1.weight', 'mlp.c_fc.bias': 'mlp.fc1.bias',
    'mlp.c_proj.weight': 'mlp.fc2.weight', 'mlp.c_proj.bias': 'mlp.fc2.bias'}

_R_PATCH = 'patch embedding (the focusing transformer replaces it)'
_R_POS = 'positional embedding (the student encodes RoIs instead)'
_R_CLS = 'class token (the student learns its own [CLS])'
_R_PRE = 'pre-transformer norm (not used by the student)'


@dataclass
class InheritReport:
    """What :func:`inherit_from_teacher` did.

    Args:
        inherited (dict): student key -> teacher key it was copied from.
        dropped (dict): teacher key -> why it was not used.
        not_inherited (list): student keys left to the student's own initialisation.
    """

    inherited: Dict[str, str] = field(default_factory=dict)
    dropped: Dict[str, str] = field(default_factory=dict)
    not_inherited: List[str] = field(default_factory=list)

    def summary(self) -> str:
        """A multi-line, human-readable summary (grouped by block)."""
        lines = [f'inherited {len(self.inherited)} tensors from the teacher:']
        groups: Dict[str, List[str]] = {}
        for s, t in self.inherited.items():
            s_grp = re.sub(r'(blocks\.\d+)\..*', r'\1', s)
            t_grp = re.sub(r'((?:blocks|layers|resblocks)\.\d+)\..*', r'\1', t)
            groups.setdefault(f'{s_grp} <- {t_grp}', []).append(s)
        lines += [f'  {k} ({len(v)} tensors)' for k, v in groups.items()]
        reasons: Dict[str, List[str]] = {}
        for k, r in self.dropped.items():
            reasons.setdefault(r, []).append(k)
        lines.append(f'dropped {len(self.dropped)} teacher tensors:')
        for r, ks in reasons.items():
            shown = ', '.join(ks[:4]) + (', ...' if len(ks) > 4 else '')
            lines.append(f'  {r}: {len(ks)} ({shown})')
        lines.append(f'{len(self.not_inherited)} student tensors keep their own init')
        return '\n'.join(lines)


# ---------------------------------------------------------------------------------------------
# layout -> canonical converters. Each returns (canonical tensors, canonical -> source key,
# dropped source keys with reasons) and raises on any key it does not know.
# ---------------------------------------------------------------------------------------------
Converted = Tuple[Dict[str, Tensor], Dict[str, str], Dict[str, str]]


def _unknown(layout: str, key: str, why: str = 'no mapping for this key') -> ValueError:
    return ValueError(f'cannot inherit from {layout} teacher key {key!r}: {why}')


def _convert_timm(sd: Dict[str, Tensor]) -> Converted:
    out, src, dropped = {}, {}, {}
    has_head_bias = 'head.bias' in sd
    for key, v in sd.items():
        m = re.fullmatch(r'blocks\.(\d+)\.(.+)', key)
        if m:
            if m.group(2) not in BLOCK_PARAMS:
                raise _unknown('timm', key, 'block parameter not in a plain pre-norm ViT block '
                               '(layer scale / qk-norm / other variants are not supported)')
            new = key
        elif key in ('norm.weight', 'norm.bias'):
            new = key
        elif key in ('head.weight', 'head.bias'):
            # a classifier has a bias; timm's CLIP towers keep the projection as a bias-free head
            new = key if has_head_bias else 'proj.weight'
        elif key.startswith('patch_embed.'):
            dropped[key] = _R_PATCH
            continue
        elif key == 'pos_embed':
            dropped[key] = _R_POS
            continue
        elif key == 'cls_token':
            dropped[key] = _R_CLS
            continue
        elif key.startswith('norm_pre.'):
            dropped[key] = _R_PRE
            continue
        else:
            raise _unknown('timm', key)
        out[new], src[new] = v, key
    return out, src, dropped


def _convert_mmpretrain(sd: Dict[str, Tensor]) -> Converted:
    out, src, dropped = {}, {}, {}
    for key, v in sd.items():
        k = key[len('backbone.'):] if key.startswith('backbone.') else None
        new = None
        if k is not None:
            m = re.fullmatch(r'layers\.(\d+)\.(.+)\.(weight|bias)', k)
            if m and m.group(2) in _MMPRETRAIN_BLOCK:
                new = f'blocks.{m.group(1)}.{_MMPRETRAIN_BLOCK[m.group(2)]}.{m.group(3)}'
            elif m or k.startswith('layers.'):
                raise _unknown('mmpretrain', key, 'block parameter not in a plain pre-norm ViT '
                               'block (layer scale and other variants are not supported)')
            elif k in ('ln1.weight', 'ln1.bias'):
                new = 'norm.' + k.split('.')[1]
            elif k.startswith('patch_embed.'):
                dropped[key] = _R_PATCH
            elif k == 'pos_embed':
                dropped[key] = _R_POS
            elif k == 'cls_token':
                dropped[key] = _R_CLS
            elif k.startswith('pre_norm.'):
                dropped[key] = _R_PRE
            else:
                raise _unknown('mmpretrain', key, 'only final_norm=True, out_type="cls_token" '
                               'ViTs are supported (the student reads [CLS] after the final norm)')
        elif key in ('head.layers.head.weight', 'head.layers.head.bias',
                     'head.fc.weight', 'head.fc.bias'):
            new = 'head.' + key.rsplit('.', 1)[1]
        elif key.startswith('head.layers.pre_logits.'):
            raise _unknown('mmpretrain', key, 'the student has no pre-logits (hidden) layer; use '
                           'a teacher whose head is a single Linear classifier')
        elif key.startswith('data_preprocessor.'):
            dropped[key] = 'data preprocessor buffer'
        else:
            raise _unknown('mmpretrain', key)
        if new is not None:
            out[new], src[new] = v, key
    return out, src, dropped


def _convert_open_clip(sd: Dict[str, Tensor]) -> Converted:
    out, src, dropped = {}, {}, {}
    full_clip = any(k.startswith('visual.') for k in sd)
    for key, v in sd.items():
        if full_clip and not key.startswith('visual.'):
            dropped[key] = 'text tower / logit scale (only the visual tower is inherited)'
            continue
        k = key[len('visual.'):] if full_clip else key
        m = re.fullmatch(r'transformer\.resblocks\.(\d+)\.(.+)', k)
        if m:
            if m.group(2) not in _OPEN_CLIP_BLOCK:
                raise _unknown('open_clip', key, 'block parameter not in a plain CLIP '
                               'residual block (layer scale is not supported)')
            new = f'blocks.{m.group(1)}.{_OPEN_CLIP_BLOCK[m.group(2)]}'
        elif k in ('ln_post.weight', 'ln_post.bias'):
            new = 'norm.' + k.split('.')[1]
        elif k == 'proj':
            new = 'proj.weight'
            v = v.t()  # open_clip computes x @ proj with proj (D, E); Linear wants (E, D)
        elif k.startswith('conv1.'):
            dropped[key] = _R_PATCH
            continue
        elif k == 'positional_embedding':
            dropped[key] = _R_POS
            continue
        elif k == 'class_embedding':
            dropped[key] = _R_CLS
            continue
        elif k.startswith('ln_pre.'):
            dropped[key] = _R_PRE
            continue
        else:
            raise _unknown('open_clip', key)
        out[new], src[new] = v, key
    return out, src, dropped


_CONVERTERS: Dict[str, Callable[[Dict[str, Tensor]], Converted]] = {
    'timm': _convert_timm, 'mmpretrain': _convert_mmpretrain, 'open_clip': _convert_open_clip}


def to_canonical(state_dict: Dict[str, Tensor], layout: str) -> Converted:
    """Rename a teacher state dict to canonical (timm block) names.

    Args:
        state_dict (dict): The teacher's state dict in ``layout``.
        layout (str): One of ``'timm'``, ``'mmpretrain'``, ``'open_clip'``.

    Returns:
        tuple: ``(tensors, sources, dropped)``: canonical name -> tensor, canonical name ->
        original key, and original key -> reason for every key that is not inheritable.

    Raises:
        ValueError: On an unknown layout or a key that has no mapping.
    """
    if layout not in _CONVERTERS:
        raise ValueError(f'unknown teacher layout {layout!r}; expected one of {LAYOUTS}')
    return _CONVERTERS[layout](state_dict)


def _num_blocks(keys, prefix: str) -> int:
    pattern = re.compile(re.escape(prefix) + r'(\d+)\.')
    idx = {int(m.group(1)) for k in keys for m in [pattern.match(k)] if m}
    if idx and idx != set(range(len(idx))):
        raise ValueError(f'non-contiguous block indices under {prefix!r}: {sorted(idx)}')
    return len(idx)


def inherit_from_teacher(teacher_state: Dict[str, Tensor],
                         layout: str,
                         student_state: Dict[str, Tensor],
                         truncate: int,
                         reuse_blocks: bool = True,
                         backbone_prefix: str = 'backbone.',
                         head_prefix: Optional[str] = 'head.fc.') -> Tuple[Dict[str, Tensor],
                                                                           InheritReport]:
    """Map a teacher state dict onto the student's keys, strictly.

    With ``reuse_blocks=True`` every student ``blocks.*``, ``norm.*``, ``proj.*`` and head key is
    filled; with ``reuse_blocks=False`` (the "w/o reusing weights" ablation) only the projection
    / classifier is inherited and the cortex and final norm keep their own initialisation.

    Args:
        teacher_state (dict): The teacher's state dict in ``layout``.
        layout (str): ``'timm'``, ``'mmpretrain'`` or ``'open_clip'``.
        student_state (dict): The student's state dict (used for its keys and shapes only).
        truncate (int): Number of leading teacher blocks to drop; student block ``k`` comes from
            teacher block ``truncate + k``. ``0`` means no truncation.
        reuse_blocks (bool): Inherit cortex blocks and the final norm. Defaults to True.
        backbone_prefix (str): Prefix of the SparseFormer keys in ``student_state``.
            Defaults to 'backbone.'.
        head_prefix (str, optional): Prefix of the student's classifier Linear, or None if the
            student has none. Defaults to 'head.fc.'.

    Returns:
        tuple: ``(tensors, report)``: student key -> tensor to copy (cloned, contiguous), and an
        :class:`InheritReport`.

    Raises:
        ValueError: If depths do not fit (``truncate + student depth != teacher depth``), a
            student key has no teacher source, or a shape differs (the message names the
            student key, the teacher key and both shapes).
    """
    canon, src, dropped = to_canonical(teacher_state, layout)
    report = InheritReport(dropped=dict(dropped))
    bp = backbone_prefix
    s_depth = _num_blocks(student_state, bp + 'blocks.')
    t_depth = _num_blocks(canon, 'blocks.')
    if truncate < 0:
        raise ValueError(f'truncate must be >= 0, got {truncate}')
    if reuse_blocks and truncate + s_depth != t_depth:
        raise ValueError(
            f'depth mismatch: the student has {s_depth} cortex blocks and the teacher '
            f'{t_depth} blocks; with truncate={truncate} they must satisfy '
            f'truncate + student depth == teacher depth ({truncate} + {s_depth} != {t_depth})')

    # student key -> canonical key it needs
    wanted: Dict[str, str] = {}
    for key in student_state:
        if key.startswith(bp + 'blocks.'):
            if reuse_blocks:
                k, rest = key[len(bp + 'blocks.'):].split('.', 1)
                wanted[key] = f'blocks.{int(k) + truncate}.{rest}'
        elif key.startswith(bp + 'norm.'):
            if reuse_blocks:
                wanted[key] = key[len(bp):]
        elif key.startswith(bp + 'proj.'):
            name = key[len(bp):]
            # a classifier-as-projection student (released AugReg layout) takes the head
            wanted[key] = name if name in canon else 'head.' + name.split('.', 1)[1]
        elif head_prefix is not None and key.startswith(head_prefix):
            wanted[key] = 'head.' + key[len(head_prefix):]
        else:
            report.not_inherited.append(key)
    if not reuse_blocks:
        report.not_inherited += [k for k in student_state
                                 if k.startswith((bp + 'blocks.', bp + 'norm.'))]

    out: Dict[str, Tensor] = {}
    for s_key, c_key in wanted.items():
        if c_key not in canon:
            raise ValueError(f'student key {s_key!r} needs teacher tensor {c_key!r} '
                             f'({layout} layout), which the teacher does not have')
        t = canon[c_key]
        if tuple(t.shape) != tuple(student_state[s_key].shape):
            raise ValueError(
                f'shape mismatch for student key {s_key!r}: student '
                f'{tuple(student_state[s_key].shape)}'
                f' vs teacher {src[c_key]!r} {tuple(t.shape)} (does the student width / '
                f'projection size match the teacher?)')
        out[s_key] = t.detach().clone().contiguous()
        report.inherited[s_key] = src[c_key]

    used = set(wanted.values())
    for c_key, o_key in src.items():
        if c_key in used:
            continue
        m = re.match(r'blocks\.(\d+)\.', c_key)
        if m and not reuse_blocks:
            report.dropped[o_key] = 'not reused (w/o reusing weights ablation)'
        elif m and int(m.group(1)) < truncate:
            report.dropped[o_key] = f'truncated leading block {m.group(1)}'
        elif c_key.startswith('norm.') and not reuse_blocks:
            report.dropped[o_key] = 'not reused (w/o reusing weights ablation)'
        elif c_key.startswith(('head.', 'proj.')):
            report.dropped[o_key] = 'the student has no classifier / projection for it'
        else:  # cannot happen with consistent depths; keep the check loud
            raise ValueError(f'teacher tensor {o_key!r} was neither inherited nor dropped')
    return out, report
