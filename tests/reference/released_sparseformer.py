"""Test oracle: the released showlab/sparseformer models, op by op, on released state dicts.

Written independently of sfmm and deliberately unoptimised (one image and one token at a
time, bilinear sampling by index arithmetic, LayerNorm / attention / GELU spelled out, float64).
It reads the released "v2 converted" key layout directly and follows the released code
(``sparseformer/sparseformer/modelling.py``, ``config.py`` and ``utils.py`` of
showlab/sparseformer) function by function:

==================================  =============================================
released                            here
==================================  =============================================
``config.make_btsp_ops_list``       :func:`btsp_ops` (per-unit op lists)
``config.make_v1_ops_list``         :func:`v1_ops`
``config.make_btsp_attr`` /         :data:`VARIANTS` (compatible attributes)
``make_clip_attr`` / ``make_v1_attr``
``utils.CompatibleAttrDict``        defaults of :data:`VARIANTS`
``EarlyConvolution.forward``,       :func:`_early_conv`
``layer_norm_by_dim``
``SparseFormer.forward``            :func:`released_forward` (cls insertion at SFUnit
                                    index ``cls_token_insert_layer``, transitions,
                                    ``Head.forward`` then ``norm`` then ``proj``)
``SFUnit.forward``                  repeat loop with the stage embedding
``SFUnit.forward_inner``            :func:`_unit` (ops in list order)
``SFUnit.attn_forward``             :func:`_attention` (timm ``Attention``)
``SFUnit.mlp_forward``              timm ``Mlp`` (GELU, or QuickGELU when
                                    ``repeats == 1 and clip_quick_gelu``)
``SFUnit.shift_token_roi``,         :func:`_roi_adjust` (``type_op_adjust`` 1 or 2)
``roi_adjust``
``SFUnit.sampling_mixing``,         :func:`_sampling_mixing`
``make_absolute_sampling_point``,
``sampling_from_img_feat``
``AdaptiveMixing.forward``          :func:`_adaptive_mixing` (``mixing_bias`` both ways)
``position_encoding`` + PE_INJECT   :func:`_pos_enc`
==================================  =============================================

Released facts this follows (checked against the code, not against sfmm's SPEC): the
bootstrapped models mix without an activation between channel and spatial mixing and apply
one GELU after it; the v1 models add mixing biases with a GELU between and after; the
parameter generator's LayerNorm always has eps 1e-5 (``AdaptiveMixing`` builds it with the
default ``nn.LayerNorm``) while the other LayerNorms use ``ln_eps``; offsets are standardised
per token and axis with the unbiased std; the RoI size is signed in
``make_absolute_sampling_point`` and absolute in ``roi_adjust``; ``grid_sample`` uses
``align_corners=False`` with border (bootstrapped) or zero (v1) padding. Drop path and
``RestrictGradNorm`` only act in training and are not modelled.
"""
import math
import re
from typing import Dict, List, Optional, Sequence

import torch

Tensor = torch.Tensor

ATTN, MLP, SAMPLING_M, ROI_ADJ, PE_INJECT = 'attn', 'mlp', 'sampling', 'roi_adj', 'pe'


def btsp_ops(num_cortex: int) -> List[Sequence[str]]:
    """``config.make_btsp_ops_list``: focusing unit, final sampling unit, cortex blocks."""
    return ([(SAMPLING_M, PE_INJECT, ATTN, MLP, ROI_ADJ), (SAMPLING_M, PE_INJECT)] +
            [(ATTN, MLP)] * num_cortex)


def v1_ops(num_cortex: int) -> List[Sequence[str]]:
    """``config.make_v1_ops_list``: two sampling units, then ``num_cortex - 1`` blocks."""
    return [(ATTN, ROI_ADJ, SAMPLING_M, MLP)] * 2 + [(ATTN, MLP)] * (num_cortex - 1)


#: Compatible attributes of the released variants (``CompatibleAttrDict`` + ``make_*_attr``)
#: and their model-level settings (``base_btsp_config`` / ``base_v1_config``).
VARIANTS = {
    'btsp': dict(heads_64=False, op_adjust=2, mixing_bias=False, transition_ln=False,
                 ln_eps=1e-5, stage_embedding=True, quick_gelu=False, padding='border',
                 cls_insert=2, head='cls', ops=btsp_ops),
    'btsp_clip': dict(heads_64=False, op_adjust=2, mixing_bias=False, transition_ln=False,
                      ln_eps=1e-5, stage_embedding=True, quick_gelu=True, padding='border',
                      cls_insert=2, head='cls', ops=btsp_ops),
    'v1': dict(heads_64=True, op_adjust=1, mixing_bias=True, transition_ln=True,
               ln_eps=1e-6, stage_embedding=False, quick_gelu=False, padding='zeros',
               cls_insert=-1, head='avg', ops=v1_ops),
}
PG_LN_EPS = 1e-5  # AdaptiveMixing's parameter_generator uses nn.LayerNorm's default


def _ln(x: Tensor, sd: Dict[str, Tensor], name: str, eps: float) -> Tensor:
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu)**2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * sd[name + '.weight'] + sd[name + '.bias']


def _lin(x: Tensor, sd: Dict[str, Tensor], name: str) -> Tensor:
    y = x @ sd[name + '.weight'].t()
    if name + '.bias' in sd:
        y = y + sd[name + '.bias']
    return y


def _gelu(x: Tensor) -> Tensor:
    return 0.5 * x * (1. + torch.erf(x / math.sqrt(2.)))


def _quick_gelu(x: Tensor) -> Tensor:
    return x * torch.sigmoid(1.702 * x)


def _attention(x: Tensor, sd: Dict[str, Tensor], name: str, heads: int) -> Tensor:
    """timm ``Attention`` (fused qkv with bias, ``scale = head_dim ** -0.5``)."""
    L, D = x.shape
    hd = D // heads
    qkv = _lin(x, sd, name + '.qkv')
    q, k, v = qkv[:, :D], qkv[:, D:2 * D], qkv[:, 2 * D:]
    outs = []
    for h in range(heads):
        sl = slice(h * hd, (h + 1) * hd)
        logits = (q[:, sl] * hd**-0.5) @ k[:, sl].t()
        w = torch.exp(logits - logits.max(-1, keepdim=True).values)
        w = w / w.sum(-1, keepdim=True)
        outs.append(w @ v[:, sl])
    return _lin(torch.cat(outs, -1), sd, name + '.proj')


def _bilinear(fmap: Tensor, pts: Tensor, padding: str) -> Tensor:
    """``grid_sample(fmap, 2*pts-1, bilinear, align_corners=False)`` by hand.

    Args:
        fmap (Tensor): (C, H, W).
        pts (Tensor): (P, 2) points ``(x, y)`` in [0, 1] image coordinates.
        padding (str): ``'border'`` (clamp the coordinate) or ``'zeros'``.

    Returns:
        Tensor: (P, C).
    """
    C, H, W = fmap.shape
    out = []
    for u, v in pts.tolist():
        x, y = u * W - 0.5, v * H - 0.5
        if padding == 'border':
            x, y = min(max(x, 0.), W - 1.), min(max(y, 0.), H - 1.)
        x0, y0 = math.floor(x), math.floor(y)
        acc = fmap.new_zeros(C)
        for xi, wx in ((x0, 1. - (x - x0)), (x0 + 1, x - x0)):
            for yi, wy in ((y0, 1. - (y - y0)), (y0 + 1, y - y0)):
                if padding == 'border':
                    xi, yi = min(xi, W - 1), min(yi, H - 1)
                if 0 <= xi < W and 0 <= yi < H and wx * wy != 0.:
                    acc = acc + fmap[:, yi, xi] * (wx * wy)
        out.append(acc)
    return torch.stack(out)


def _pos_enc(roi: Tensor, width: int) -> Tensor:
    """``position_encoding`` for one token: 4 coordinates x ``width/4`` features."""
    nf = width // 4
    freqs = torch.exp(torch.linspace(0, math.log(128.), nf, dtype=torch.float32)).to(roi.dtype)
    parts = []
    for c in range(4):
        a = (roi[c] * math.pi) * freqs
        parts.append(torch.cat([torch.sin(a[0::2]), torch.cos(a[1::2])]))
    return torch.cat(parts)


def _adaptive_mixing(sampled: Tensor, token: Tensor, sd: Dict[str, Tensor], name: str,
                     mixing_bias: bool) -> Tensor:
    """``AdaptiveMixing.forward`` for one token: sampled (P, C) -> (out_dim, )."""
    P, C = sampled.shape
    g = _ln(token, sd, name + '.parameter_generator.0', PG_LN_EPS)
    g = _lin(_lin(g, sd, name + '.parameter_generator.1'), sd, name + '.parameter_generator.2')
    Po = (g.numel() - C * C) // P
    channel = g[:C * C].view(C, C)
    spatial = g[C * C:].view(Po, P)
    if mixing_bias:
        out = _gelu(sampled @ channel + sd[name + '.m_beta'])
        out = spatial @ out + sd[name + '.s_beta'][:, None]
    else:
        out = spatial @ (sampled @ channel)
    out = _gelu(out)
    return _lin(out.reshape(-1), sd, name + '.out_proj')


def _sampling_mixing(fmap: Tensor, tokens: Tensor, rois: Tensor, sd: Dict[str, Tensor],
                     name: str, ln_eps: float, mixing_bias: bool, padding: str):
    """``SFUnit.sampling_mixing``: returns new tokens (N, D) and the points (N, P, 2)."""
    new, points = [], []
    for t, roi in zip(tokens, rois):
        off = _ln(t, sd, name + '.roi_offset_module.0', ln_eps) @ sd[
            name + '.roi_offset_module.1.weight'].t()
        off = (sd[name + '.roi_offset_bias'] + off).view(-1, 2)
        off = (off - off.mean(0)) / (3 * (off.std(0, unbiased=True) + 1e-5))
        pts = (roi[:2] + roi[2:]) / 2. + off * (roi[2:] - roi[:2])
        points.append(pts)
        sampled = _bilinear(fmap, pts, padding)
        new.append(t + _adaptive_mixing(sampled, t, sd, name + '.adaptive_mixing', mixing_bias))
    return torch.stack(new), torch.stack(points)


def _roi_adjust(tokens: Tensor, rois: Tensor, sd: Dict[str, Tensor], name: str,
                ln_eps: float, op_adjust: int) -> Tensor:
    """``SFUnit.shift_token_roi`` + ``roi_adjust``."""
    out = []
    for t, roi in zip(tokens, rois):
        h = _ln(t, sd, name + '.roi_adjust_module.0', ln_eps)
        if op_adjust == 2:
            h = _gelu(_lin(h, sd, name + '.roi_adjust_module.1'))
            d = h @ sd[name + '.roi_adjust_module.3.weight'].t()
        else:
            d = h @ sd[name + '.roi_adjust_module.1.weight'].t()
        cx, cy = (roi[0] + roi[2]) / 2, (roi[1] + roi[3]) / 2
        w, h_ = (roi[2] - roi[0]).abs(), (roi[3] - roi[1]).abs()
        cx, cy = cx + d[0] * w, cy + d[1] * h_
        w, h_ = w * torch.exp(d[2]), h_ * torch.exp(d[3])
        out.append(torch.stack([cx - w / 2, cy - h_ / 2, cx + w / 2, cy + h_ / 2]))
    return torch.stack(out)


def _unit(fmap: Tensor, tokens: Tensor, rois: Tensor, sd: Dict[str, Tensor], name: str,
          ops: Sequence[str], repeats: int, attrs: dict, hist: dict):
    """``SFUnit.forward`` (repeats, stage embedding) over ``SFUnit.forward_inner``."""
    eps = attrs['ln_eps']
    D = tokens.shape[1]
    heads = 64 if attrs['heads_64'] else D // 64
    act = _quick_gelu if repeats == 1 and attrs['quick_gelu'] else _gelu
    for i in range(repeats):
        if attrs['stage_embedding'] and repeats > 1:
            tokens = tokens + sd[name + '.stage_embedding.weight'][i]
        for op in ops:
            if op == ATTN:
                tokens = tokens + _attention(_ln(tokens, sd, name + '.norm1', eps), sd,
                                             name + '.attn', heads)
            elif op == MLP:
                h = _ln(tokens, sd, name + '.norm2', eps)
                tokens = tokens + _lin(act(_lin(h, sd, name + '.mlp.fc1')), sd,
                                       name + '.mlp.fc2')
            elif op == ROI_ADJ:
                rois = _roi_adjust(tokens, rois, sd, name, eps, attrs['op_adjust'])
                hist['rois'].append(rois)
            elif op == SAMPLING_M:
                tokens, pts = _sampling_mixing(fmap, tokens, rois, sd, name, eps,
                                               attrs['mixing_bias'], attrs['padding'])
                hist['points'] = pts
            elif op == PE_INJECT:
                pe = torch.stack([_pos_enc(r, D) for r in rois])
                tokens = tokens + _lin(_ln(pe, sd, name + '.pe_transition.0', eps), sd,
                                       name + '.pe_transition.1')
    return tokens, rois


def _early_conv(images: Tensor, sd: Dict[str, Tensor]) -> Tensor:
    """``EarlyConvolution.forward``: conv 7x7/2, ReLU, max-pool 3x3/2, ``layer_norm_by_dim``."""
    x = torch.nn.functional.conv2d(images, sd['feat_extractor.conv1.weight'],
                                   sd['feat_extractor.conv1.bias'], stride=2, padding=3)
    x = torch.clamp(x, min=0)
    x = torch.nn.functional.max_pool2d(x, 3, 2, 1)
    mu = x.mean(1, keepdim=True)
    var = ((x - mu)**2).mean(1, keepdim=True)
    return (x - mu) / torch.sqrt(var + 1e-5)


def _layer_ids(sd: Dict[str, Tensor]) -> List[int]:
    return sorted({int(m.group(1)) for m in (re.match(r'layers\.(\d+)\.', k) for k in sd)
                   if m})


@torch.no_grad()
def released_forward(sd: Dict[str, Tensor], images: Tensor, variant: str = 'btsp',
                     focus_repeats: Optional[int] = None) -> Dict[str, Tensor]:
    """Run a released-layout state dict on images, as the released ``SparseFormer.forward``.

    The unit structure is read from the keys: ``layers.1`` is the transition (its Linear at
    ``layers.1.0``, the v1 LayerNorm at ``layers.1.1``), every other ``layers.i`` an SFUnit
    whose ops come from :func:`btsp_ops` / :func:`v1_ops`.

    Args:
        sd (dict): Released "v2 converted" state dict (no ``model`` wrapper).
        images (Tensor): (B, 3, H, W); its dtype is used throughout (float64 recommended).
        variant (str): ``'btsp'`` (AugReg), ``'btsp_clip'`` (OpenAI CLIP: QuickGELU in the
            repeats == 1 units) or ``'v1'``. Defaults to 'btsp'.
        focus_repeats (int, optional): Repeats of ``layers.0``; read from its stage
            embedding when there is one. Defaults to None (4 without a stage embedding).

    Returns:
        dict: ``feat_map`` (B, C, h, w), ``rois`` (B, K, N, 4) the initial RoIs and every RoI
        adjustment in order, ``points`` (B, N, P, 2) of the last sampling op, ``tokens`` the
        last unit's output (B, L, D), ``embed_norm`` (B, D) the head's token ([CLS] or the
        token mean) after ``norm``, and ``proj`` (B, E) after ``proj``.
    """
    attrs = VARIANTS[variant]
    sd = {k: v.to(images.dtype) for k, v in sd.items()}
    units = [i for i in _layer_ids(sd) if i != 1]
    ops = attrs['ops'](len(units) - 2 if variant != 'v1' else len(units) - 1)
    if len(ops) != len(units):
        raise ValueError(f'{len(units)} units in the state dict, {len(ops)} in the op list')
    if focus_repeats is None:
        stage = sd.get('layers.0.stage_embedding.weight')
        focus_repeats = stage.shape[0] if stage is not None else 4
    fmap = _early_conv(images, sd)
    res = dict(feat_map=fmap, rois=[], points=[], tokens=[], embed_norm=[], proj=[])
    N = sd['initial_roi.weight'].shape[0]
    for b in range(images.shape[0]):
        emb = sd['initial_embedding.weight']
        tokens = emb.expand(N, -1).clone() if emb.shape[0] == 1 else emb.clone()
        rois = sd['initial_roi.weight'].clone()
        hist = dict(rois=[rois], points=None)
        for sf_idx, (layer, unit_ops) in enumerate(zip(units, ops)):
            if layer == 2:  # the transition sits between layers.0 and layers.2
                tokens = _lin(tokens, sd, 'layers.1.0')
                if attrs['transition_ln']:
                    tokens = _ln(tokens, sd, 'layers.1.1', attrs['ln_eps'])
            if sf_idx == attrs['cls_insert']:
                tokens = torch.cat([sd['cls_embedding.weight'], tokens], 0)
            repeats = focus_repeats if layer == 0 else 1
            tokens, rois = _unit(fmap[b], tokens, rois, sd, f'layers.{layer}', unit_ops,
                                 repeats, attrs, hist)
        head = tokens[0] if attrs['head'] == 'cls' else tokens.mean(0)
        embed = _ln(head, sd, 'norm', attrs['ln_eps'])
        res['rois'].append(torch.stack(hist['rois']))
        res['points'].append(hist['points'])
        res['tokens'].append(tokens)
        res['embed_norm'].append(embed)
        res['proj'].append(_lin(embed, sd, 'proj'))
    for k in ('rois', 'points', 'tokens', 'embed_norm', 'proj'):
        res[k] = torch.stack(res[k])
    return res


def random_released_state_dict(variant: str = 'btsp', focus_dims: int = 64,
                               embed_dims: int = 128, num_cortex: int = 2,
                               num_tokens: int = 5, num_points: int = 4,
                               conv_channels: int = 8, repeats: int = 2, proj_dims: int = 10,
                               proj_bias: bool = True, pg_hidden: Optional[int] = None,
                               seed: int = 0) -> Dict[str, Tensor]:
    """A random state dict in the released layout (bootstrapped or v1).

    Values are scaled so that every branch (offsets, RoI deltas, mixing and its biases) is
    active and the RoIs stay mostly inside the image.

    Args:
        variant (str): ``'btsp'`` / ``'btsp_clip'`` (same keys) or ``'v1'``.
            Defaults to 'btsp'.
        focus_dims (int): Focusing width. Defaults to 64.
        embed_dims (int): Cortex width. Defaults to 128.
        num_cortex (int): Cortex-width units: plain blocks for the bootstrapped layout, the
            sampling unit plus plain blocks for v1 (``config.make_v1_ops_list``).
            Defaults to 2.
        num_tokens (int): Latent tokens. Defaults to 5.
        num_points (int): Sampling points. Defaults to 4.
        conv_channels (int): Early-conv channels. Defaults to 8.
        repeats (int): Focusing repeats (stage-embedding rows; v1 has none). Defaults to 2.
        proj_dims (int): Output of ``proj``. Defaults to 10.
        proj_bias (bool): Whether ``proj`` has a bias. Defaults to True.
        pg_hidden (int, optional): Parameter-generator hidden width. Defaults to None
            (128 bootstrapped, ``dim // 4`` v1).
        seed (int): RNG seed. Defaults to 0.

    Returns:
        dict[str, Tensor]: Released-layout state dict.
    """
    v1 = variant == 'v1'
    g = torch.Generator().manual_seed(seed)
    P, C, Po = num_points, conv_channels, max(num_points, 32)

    def r(*shape, s=0.02):
        return torch.randn(*shape, generator=g) * s

    def ln(name, w):
        return {f'{name}.weight': 1. + r(w, s=0.1), f'{name}.bias': r(w, s=0.1)}

    def lin(name, i, o, bias=True, s=None):
        s = s if s is not None else i**-0.5
        d = {f'{name}.weight': r(o, i, s=s)}
        if bias:
            d[f'{name}.bias'] = r(o, s=0.02)
        return d

    def sampling(name, w):
        hidden = pg_hidden or (w // 4 if v1 else 128)
        d = {}
        d.update(ln(f'{name}.roi_offset_module.0', w))
        d.update(lin(f'{name}.roi_offset_module.1', w, 2 * P, bias=False, s=0.02))
        d[f'{name}.roi_offset_bias'] = r(2 * P, s=0.3)
        d.update(ln(f'{name}.adaptive_mixing.parameter_generator.0', w))
        d.update(lin(f'{name}.adaptive_mixing.parameter_generator.1', w, hidden))
        d.update(lin(f'{name}.adaptive_mixing.parameter_generator.2', hidden, C * C + P * Po,
                     s=0.01))
        d[f'{name}.adaptive_mixing.parameter_generator.2.bias'] = r(C * C + P * Po, s=0.3)
        if v1:
            d[f'{name}.adaptive_mixing.m_beta'] = r(C, s=0.3)
            d[f'{name}.adaptive_mixing.s_beta'] = r(Po, s=0.3)
        d.update(lin(f'{name}.adaptive_mixing.out_proj', Po * C, w))
        if not v1:
            d.update(ln(f'{name}.pe_transition.0', w))
            d.update(lin(f'{name}.pe_transition.1', w, w))
        return d

    def block(name, w):
        d = {}
        d.update(ln(f'{name}.norm1', w))
        d.update(lin(f'{name}.attn.qkv', w, 3 * w))
        d.update(lin(f'{name}.attn.proj', w, w))
        d.update(ln(f'{name}.norm2', w))
        d.update(lin(f'{name}.mlp.fc1', w, 4 * w))
        d.update(lin(f'{name}.mlp.fc2', 4 * w, w))
        return d

    def roi_adjust(name, w):
        d = ln(f'{name}.roi_adjust_module.0', w)
        if v1:
            d.update(lin(f'{name}.roi_adjust_module.1', w, 4, bias=False, s=0.01))
        else:
            d.update(lin(f'{name}.roi_adjust_module.1', w, w))
            d.update(lin(f'{name}.roi_adjust_module.3', w, 4, bias=False, s=0.01))
        return d

    sd = {
        'feat_extractor.conv1.weight': r(C, 3, 7, 7, s=0.1),
        'feat_extractor.conv1.bias': r(C, s=0.1),
        'initial_embedding.weight': r(num_tokens if v1 else 1, focus_dims, s=1.),
    }
    lo = torch.rand(num_tokens, 2, generator=g) * 0.5
    sd['initial_roi.weight'] = torch.cat([lo, lo + 0.2 + 0.3 * torch.rand(
        num_tokens, 2, generator=g)], 1)
    sd.update(sampling('layers.0', focus_dims))
    sd.update(block('layers.0', focus_dims))
    sd.update(roi_adjust('layers.0', focus_dims))
    sd.update(lin('layers.1.0', focus_dims, embed_dims))
    sd.update(sampling('layers.2', embed_dims))
    if v1:
        sd.update(ln('layers.1.1', embed_dims))
        sd.update(block('layers.2', embed_dims))
        sd.update(roi_adjust('layers.2', embed_dims))
        first_block, num_blocks = 3, num_cortex - 1
    else:
        sd['cls_embedding.weight'] = r(1, embed_dims, s=1.)
        sd['layers.0.stage_embedding.weight'] = r(repeats, focus_dims, s=1.)
        first_block, num_blocks = 3, num_cortex
    for k in range(num_blocks):
        sd.update(block(f'layers.{first_block + k}', embed_dims))
    sd.update(ln('norm', embed_dims))
    sd.update(lin('proj', embed_dims, proj_dims, bias=proj_bias))
    return sd
