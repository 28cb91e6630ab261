"""Plain re-implementation of the released ("v2 converted") bootstrapped SparseFormer.

A test oracle, written independently of sfmm and deliberately unoptimised: it reads the
released key layout of showlab/sparseformer directly (``layers.0`` focusing unit,
``layers.1.0`` transition, ``layers.2`` final sampling unit, ``layers.3..`` cortex), loops
over tokens, computes bilinear sampling by hand (border padding, ``align_corners=False``)
and spells out LayerNorm, attention and GELU. Float64 is allowed for extra precision.

Facts follow sfmm's SPEC and the public showlab/sparseformer code: offsets are standardised
per token and axis with the unbiased std (``/(3*(std+1e-5))``) and scaled by the signed RoI
size; mixing parameters are ``(C_in, C_out)`` channel and ``(P_out, P)`` spatial matrices;
the position encoding of one coordinate is ``[sin(a[0::2]), cos(a[1::2])]`` with
``a = (pi*v) * exp(linspace(0, ln 128, width/4))``.
"""
import math
from typing import Dict, List

import torch

Tensor = torch.Tensor


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
    L, D = x.shape
    hd = D // heads
    qkv = _lin(x, sd, name + '.qkv')
    q, k, v = qkv[:, :D], qkv[:, D:2 * D], qkv[:, 2 * D:]
    outs = []
    for h in range(heads):
        sl = slice(h * hd, (h + 1) * hd)
        logits = q[:, sl] @ k[:, sl].t() / math.sqrt(hd)
        w = torch.exp(logits - logits.max(-1, keepdim=True).values)
        w = w / w.sum(-1, keepdim=True)
        outs.append(w @ v[:, sl])
    return _lin(torch.cat(outs, -1), sd, name + '.proj')


def _block(x: Tensor, sd: Dict[str, Tensor], name: str, heads: int, act, eps: float) -> Tensor:
    x = x + _attention(_ln(x, sd, name + '.norm1', eps), sd, name + '.attn', heads)
    h = _ln(x, sd, name + '.norm2', eps)
    return x + _lin(act(_lin(h, sd, name + '.mlp.fc1')), sd, name + '.mlp.fc2')


def _bilinear(fmap: Tensor, u: float, v: float) -> Tensor:
    """Sample (C, H, W) at normalised (u, v) like grid_sample(border, align_corners=False)."""
    C, H, W = fmap.shape
    x = min(max(u * W - 0.5, 0.), W - 1.)
    y = min(max(v * H - 0.5, 0.), H - 1.)
    x0, y0 = int(math.floor(x)), int(math.floor(y))
    x1, y1 = min(x0 + 1, W - 1), min(y0 + 1, H - 1)
    ax, ay = x - x0, y - y0
    return (fmap[:, y0, x0] * (1 - ax) * (1 - ay) + fmap[:, y0, x1] * ax * (1 - ay) +
            fmap[:, y1, x0] * (1 - ax) * ay + fmap[:, y1, x1] * ax * ay)


def _pos_enc(roi: Tensor, width: int) -> Tensor:
    nf = width // 4
    freqs = torch.exp(torch.linspace(0, math.log(128.), nf, dtype=torch.float32)).to(roi.dtype)
    parts = []
    for c in range(4):
        a = (roi[c] * math.pi) * freqs
        parts.append(torch.cat([torch.sin(a[0::2]), torch.cos(a[1::2])]))
    return torch.cat(parts)


def _sampling_unit(fmap: Tensor, tokens: Tensor, rois: Tensor, sd: Dict[str, Tensor],
                   name: str, num_points: int, eps: float, points_out: List) -> Tensor:
    """Sampling + adaptive mixing + RoI position encoding for one image's tokens."""
    N, D = tokens.shape
    C = fmap.shape[0]
    P = num_points
    Po = max(P, 32)
    new = []
    pts_all = []
    for n in range(N):
        t = tokens[n]
        roi = rois[n]
        off = _ln(t, sd, name + '.roi_offset_module.0', eps) @ sd[
            name + '.roi_offset_module.1.weight'].t() + sd[name + '.roi_offset_bias']
        off = off.view(P, 2)
        off = (off - off.mean(0)) / (3 * (off.std(0, unbiased=True) + 1e-5))
        centre = (roi[:2] + roi[2:]) / 2
        size = roi[2:] - roi[:2]
        pts = centre + off * size
        pts_all.append(pts)
        sampled = torch.stack([_bilinear(fmap, float(p[0]), float(p[1])) for p in pts])  # (P, C)
        g = _ln(t, sd, name + '.adaptive_mixing.parameter_generator.0', eps)
        g = _lin(_lin(g, sd, name + '.adaptive_mixing.parameter_generator.1'), sd,
                 name + '.adaptive_mixing.parameter_generator.2')
        ch = g[:C * C].view(C, C)
        sp = g[C * C:].view(Po, P)
        mixed = _gelu(sp @ _gelu(sampled @ ch))  # (Po, C)
        t = t + _lin(mixed.reshape(-1), sd, name + '.adaptive_mixing.out_proj')
        pe = _pos_enc(roi, D)
        t = t + _lin(_ln(pe, sd, name + '.pe_transition.0', eps), sd, name + '.pe_transition.1')
        new.append(t)
    points_out.append(torch.stack(pts_all))
    return torch.stack(new)


def _roi_adjust(tokens: Tensor, rois: Tensor, sd: Dict[str, Tensor], name: str,
                eps: float) -> Tensor:
    out = []
    for t, roi in zip(tokens, rois):
        h = _gelu(_lin(_ln(t, sd, name + '.roi_adjust_module.0', eps), sd,
                       name + '.roi_adjust_module.1'))
        d = h @ sd[name + '.roi_adjust_module.3.weight'].t()
        cx, cy = (roi[0] + roi[2]) / 2, (roi[1] + roi[3]) / 2
        w, h_ = (roi[2] - roi[0]).abs(), (roi[3] - roi[1]).abs()
        cx, cy = cx + d[0] * w, cy + d[1] * h_
        w, h_ = w * torch.exp(d[2]), h_ * torch.exp(d[3])
        out.append(torch.stack([cx - w / 2, cy - h_ / 2, cx + w / 2, cy + h_ / 2]))
    return torch.stack(out)


@torch.no_grad()
def released_forward(sd: Dict[str, Tensor], images: Tensor, num_points: int = 16,
                     quick_gelu: bool = False, eps: float = 1e-5) -> Dict[str, Tensor]:
    """Run a released-layout state dict on images, one image and one token at a time.

    Args:
        sd (dict): Released "v2 converted" state dict (no ``model`` wrapper).
        images (Tensor): (B, 3, H, W).
        num_points (int): Sampling points per token. Defaults to 16.
        quick_gelu (bool): Cortex MLP activation is QuickGELU (CLIP). Defaults to False.
        eps (float): LayerNorm epsilon. Defaults to 1e-5.

    Returns:
        dict: ``feat_map`` (B, C, h, w), ``rois`` (B, R+1, N, 4), ``points`` (B, N, P, 2),
        ``tokens`` (B, 1+N, D) after the last cortex block, ``cls_norm`` (B, D) [CLS] after
        the final norm and ``proj`` (B, E) the ``proj`` Linear applied to it.
    """
    sd = {k: v.to(images.dtype) for k, v in sd.items()}
    act = _quick_gelu if quick_gelu else _gelu
    cortex = sorted({int(k.split('.')[1]) for k in sd if k.startswith('layers.')
                     and int(k.split('.')[1]) >= 3})
    Df = sd['initial_embedding.weight'].shape[1]
    repeats = sd['layers.0.stage_embedding.weight'].shape[0]
    # early convolution
    x = torch.nn.functional.conv2d(images, sd['feat_extractor.conv1.weight'],
                                   sd['feat_extractor.conv1.bias'], stride=2, padding=3)
    x = torch.clamp(x, min=0)
    x = torch.nn.functional.max_pool2d(x, 3, 2, 1)
    mu = x.mean(1, keepdim=True)
    var = ((x - mu)**2).mean(1, keepdim=True)
    fmap = (x - mu) / torch.sqrt(var + 1e-5)

    res = dict(feat_map=fmap, rois=[], points=[], tokens=[], cls_norm=[], proj=[])
    for b in range(images.shape[0]):
        N = sd['initial_roi.weight'].shape[0]
        tokens = sd['initial_embedding.weight'].expand(N, Df).clone()
        rois = sd['initial_roi.weight'].clone()
        roi_hist = [rois]
        pts = []
        for i in range(repeats):
            tokens = tokens + sd['layers.0.stage_embedding.weight'][i]
            tokens = _sampling_unit(fmap[b], tokens, rois, sd, 'layers.0', num_points, eps, pts)
            heads = Df // 64
            tokens = tokens + _attention(_ln(tokens, sd, 'layers.0.norm1', eps), sd,
                                         'layers.0.attn', heads)
            h = _ln(tokens, sd, 'layers.0.norm2', eps)
            tokens = tokens + _lin(_gelu(_lin(h, sd, 'layers.0.mlp.fc1')), sd, 'layers.0.mlp.fc2')
            rois = _roi_adjust(tokens, rois, sd, 'layers.0', eps)
            roi_hist.append(rois)
        tokens = _lin(tokens, sd, 'layers.1.0')
        pts = []
        tokens = _sampling_unit(fmap[b], tokens, rois, sd, 'layers.2', num_points, eps, pts)
        tokens = torch.cat([sd['cls_embedding.weight'], tokens], 0)
        D = tokens.shape[1]
        for i in cortex:
            tokens = _block(tokens, sd, f'layers.{i}', D // 64, act, eps)
        cls = _ln(tokens[0], sd, 'norm', eps)
        res['rois'].append(torch.stack(roi_hist))
        res['points'].append(pts[0])
        res['tokens'].append(tokens)
        res['cls_norm'].append(cls)
        res['proj'].append(_lin(cls, sd, 'proj'))
    for k in ('rois', 'points', 'tokens', 'cls_norm', 'proj'):
        res[k] = torch.stack(res[k])
    return res


def random_released_state_dict(focus_dims: int = 64, embed_dims: int = 128,
                               num_cortex: int = 2, num_tokens: int = 5,
                               num_points: int = 4, conv_channels: int = 8, repeats: int = 2,
                               proj_dims: int = 10, proj_bias: bool = True,
                               seed: int = 0) -> Dict[str, Tensor]:
    """A random state dict in the released layout for a tiny arch.

    Values are scaled so that every branch (offsets, RoI deltas, mixing) is active and the
    RoIs stay inside the image.

    Args:
        focus_dims (int): Focusing width. Defaults to 64.
        embed_dims (int): Cortex width. Defaults to 128.
        num_cortex (int): Cortex blocks. Defaults to 2.
        num_tokens (int): Latent tokens. Defaults to 5.
        num_points (int): Sampling points. Defaults to 4.
        conv_channels (int): Early-conv channels. Defaults to 8.
        repeats (int): Focusing repeats. Defaults to 2.
        proj_dims (int): Output of ``proj``. Defaults to 10.
        proj_bias (bool): Whether ``proj`` has a bias (AugReg). Defaults to True.
        seed (int): RNG seed. Defaults to 0.

    Returns:
        dict[str, Tensor]: Released-layout state dict.
    """
    g = torch.Generator().manual_seed(seed)
    P, C, Po = num_points, conv_channels, max(num_points, 32)

    def r(*shape, s=0.02):
        return torch.randn(*shape, generator=g) * s

    def ln(name, w, s=1.):
        return {f'{name}.weight': 1. + r(w, s=0.1) * s, f'{name}.bias': r(w, s=0.1)}

    def lin(name, i, o, bias=True, s=None):
        s = s if s is not None else i**-0.5
        d = {f'{name}.weight': r(o, i, s=s)}
        if bias:
            d[f'{name}.bias'] = r(o, s=0.02)
        return d

    def sampling(name, w):
        d = {}
        d.update(ln(f'{name}.roi_offset_module.0', w))
        d.update(lin(f'{name}.roi_offset_module.1', w, 2 * P, bias=False, s=0.02))
        d[f'{name}.roi_offset_bias'] = r(2 * P, s=0.3)
        d.update(ln(f'{name}.adaptive_mixing.parameter_generator.0', w))
        d.update(lin(f'{name}.adaptive_mixing.parameter_generator.1', w, 128))
        d.update(lin(f'{name}.adaptive_mixing.parameter_generator.2', 128, C * C + P * Po,
                     s=0.01))
        d[f'{name}.adaptive_mixing.parameter_generator.2.bias'] = r(C * C + P * Po, s=0.3)
        d.update(lin(f'{name}.adaptive_mixing.out_proj', Po * C, w))
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

    sd = {
        'feat_extractor.conv1.weight': r(C, 3, 7, 7, s=0.1),
        'feat_extractor.conv1.bias': r(C, s=0.1),
        'initial_embedding.weight': r(1, focus_dims, s=1.),
        'cls_embedding.weight': r(1, embed_dims, s=1.),
    }
    lo = torch.rand(num_tokens, 2, generator=g) * 0.5
    sd['initial_roi.weight'] = torch.cat([lo, lo + 0.2 + 0.3 * torch.rand(
        num_tokens, 2, generator=g)], 1)
    sd['layers.0.stage_embedding.weight'] = r(repeats, focus_dims, s=1.)
    sd.update(sampling('layers.0', focus_dims))
    sd.update(block('layers.0', focus_dims))
    sd.update(ln('layers.0.roi_adjust_module.0', focus_dims))
    sd.update(lin('layers.0.roi_adjust_module.1', focus_dims, focus_dims))
    sd.update(lin('layers.0.roi_adjust_module.3', focus_dims, 4, bias=False, s=0.01))
    sd.update(lin('layers.1.0', focus_dims, embed_dims))
    sd.update(sampling('layers.2', embed_dims))
    for k in range(num_cortex):
        sd.update(block(f'layers.{3 + k}', embed_dims))
    sd.update(ln('norm', embed_dims))
    sd.update(lin('proj', embed_dims, proj_dims, bias=proj_bias))
    return sd
