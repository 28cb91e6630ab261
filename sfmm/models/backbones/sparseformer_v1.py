"""SparseFormer v1: sparse visual recognition with a few latent tokens, trained from scratch."""
import math
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from sfmm.models.layers import (AdaptiveSamplingMixing, Attention, EarlyConv, Mlp, RoIAdjust,
                                TransformerBlock, drop_path)
from sfmm.models.layers.precision import at_least_fp32
from sfmm.models.utils.weight_init import (init_linear_and_norm, initial_roi_grid,
                                           strict_init_cfg)
from sfmm.registry import MODELS

from .sparseformer import OUT_KEYS

Tensor = torch.Tensor

#: Top-level modules before the cortex (layer depth 0 in :meth:`SparseFormerV1.get_layer_depth`).
FOCUSING_PARTS_V1 = ('stem', 'init_embed', 'init_rois', 'focus', 'transition', 'transition_norm')
#: LayerNorm epsilon of the v1 models, except the parameter generators' (see ``_V1Unit``).
V1_LN_EPS = 1e-6


class _V1Unit(nn.Module):
    """A v1 SparseFormer unit with sampling: attention, RoI adjust, sampling + mixing, MLP.

    Each of the ``repeats`` (shared weights, no stage embedding) runs, in this order:
    ``x + attn(norm1(x))``; RoI adjustment ``LayerNorm -> Linear(4, no bias)``; sampling and
    adaptive mixing (with mixing biases, a GELU between the mixings, zero padding) at the
    adjusted RoIs, residual; ``x + mlp(norm2(x))``. Stochastic depth of repeat ``i`` acts on
    the attention, mixing and MLP branches and on the RoI deltas. As in the released
    ``SFUnit`` (ops ``ATTN, ROI_ADJ, SAMPLING_M, MLP``) with the v1 compatibility attributes.

    Args:
        dim (int): Token width.
        in_channels (int): Early-conv channels ``C``.
        num_points (int): Sampling points per token (a perfect square).
        num_heads (int): Attention heads.
        mlp_ratio (float): MLP hidden width / ``dim``.
        repeats (int): Number of repeats.
        drop_path_rates (Sequence[float]): One stochastic-depth rate per repeat.
    """

    def __init__(self, dim: int, in_channels: int, num_points: int, num_heads: int,
                 mlp_ratio: float, repeats: int, drop_path_rates: Sequence[float]) -> None:
        super().__init__()
        if len(drop_path_rates) != repeats:
            raise ValueError(f'need one drop-path rate per repeat ({repeats}), got '
                             f'{len(drop_path_rates)}')
        self.repeats = repeats
        self.drop_path_rates = [float(r) for r in drop_path_rates]
        self.norm1 = nn.LayerNorm(dim, eps=V1_LN_EPS)
        self.attn = Attention(dim, num_heads, qkv_bias=True)
        self.roi_adjust = RoIAdjust(dim, V1_LN_EPS, hidden=False)
        # the released SFUnit does not pass its norm_layer to AdaptiveMixing, whose
        # parameter-generator LayerNorm therefore keeps PyTorch's eps 1e-5
        self.sampling = AdaptiveSamplingMixing(
            dim, in_channels, num_points, out_points=None, hidden_dims=int(0.25 * dim),
            ln_eps=V1_LN_EPS, offset_eps=1e-5, mixing_bias=True, param_ln_eps=1e-5,
            padding_mode='zeros')
        self.norm2 = nn.LayerNorm(dim, eps=V1_LN_EPS)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), act='gelu')

    def forward(self, x: Tensor, rois: Tensor,
                feat: Tensor) -> Tuple[Tensor, List[Tensor], Tensor]:
        """Run all repeats.

        Args:
            x (Tensor): Tokens of shape (B, N, D).
            rois (Tensor): RoIs of shape (B, N, 4).
            feat (Tensor): Early-conv map of shape (B, C, H, W).

        Returns:
            tuple: tokens (B, N, D), the list of float32 RoIs (B, N, 4) after each repeat's
            adjustment, and the last repeat's float32 sampling points (B, N, P, 2).
        """
        all_rois = []
        points = None
        for i in range(self.repeats):
            p = self.drop_path_rates[i] if self.training else 0.
            x = x + drop_path(self.attn(self.norm1(x)), p, True)
            rois = self.roi_adjust(x, rois, drop_prob=p)
            x, points = self.sampling(x, rois, feat, drop_prob=p)
            x = x + drop_path(self.mlp(self.norm2(x)), p, True)
            all_rois.append(rois)
        return x, all_rois, points


@MODELS.register_module()
class SparseFormerV1(BaseModule):
    """SparseFormer v1, the from-scratch ImageNet SparseFormers (T / S / B).

    Paper: "SparseFormer: Sparse Visual Recognition via Limited Latent Tokens", ICLR 2024
    (https://arxiv.org/abs/2304.03768). Numerics follow the released ``modelling.py`` of
    showlab/sparseformer with the v1 configuration (``sparseformer_v1_{tiny,small,base}``) and
    its "v2 converted" checkpoints (:func:`sfmm.models.utils.convert_sparseformer_official`).

    An early convolution gives a ``(B, C, H/4, W/4)`` map. ``N`` latent tokens, each with its
    own learned initial embedding and RoI, run the focusing unit (width ``D_f``)
    ``focus_repeats`` times with shared weights; each repeat is attention -> RoI adjustment
    -> sampling + adaptive mixing -> MLP (see ``_V1Unit``). A ``Linear(D_f, D)`` and a
    LayerNorm move the tokens to the cortex width, where one more such unit (its own weights,
    run once, starting from the focusing unit's RoIs) is followed by ``num_layers - 1``
    pre-norm transformer blocks. The embedding is the LayerNorm of the token mean (the
    released ``avg`` head before its classifier, which sfmm keeps in a ``LinearClsHead``).
    All LayerNorms use eps 1e-6 except those of the mixing parameter generators (1e-5, as in
    the released code). Every attention has ``num_heads`` heads (64) at every width.

    Args:
        arch (str | dict): A preset of :attr:`arch_zoo` (``'tiny'``, ``'small'``, ``'base'``)
            or a dict with ``focus_dims``, ``embed_dims``, ``num_layers`` (cortex-width units,
            the sampling unit included) and optionally ``num_heads`` (64), ``mlp_ratio`` (4)
            and ``num_latent_tokens`` (49). Defaults to 'tiny'.
        num_latent_tokens (int, optional): Latent tokens ``N``. Defaults to None (the
            preset's: 49 / 64 / 81).
        num_points (int): Sampling points per token ``P``, a perfect square. Defaults to 36.
        conv_channels (int): Early-conv channels ``C``. Defaults to 96.
        focus_repeats (int): Repeats ``R`` of the focusing unit. Defaults to 4.
        out_keys (Sequence[str]): What :meth:`forward` returns, in order; names from
            :data:`sfmm.models.backbones.sparseformer.OUT_KEYS`. Defaults to ('embed', ).
        drop_path_rate (float): Stochastic depth rate, rising as
            ``linspace(0, rate, R + num_layers)`` over the focusing repeats, the cortex
            sampling unit and the transformer blocks, in that order (the released schedule;
            v1 trained with 0.2 / 0.3 / 0.4 for T / S / B). sfmm drops whole samples' branches;
            see :func:`sfmm.models.layers.drop_path`. Defaults to 0.
        init_cfg (dict, optional): ``dict(type='sfmm.Pretrained', checkpoint=...,
            prefix=...)`` loads a checkpoint strictly through :mod:`sfmm.weights` (a released
            v1 file is converted first); ``type='Pretrained'`` means the same. Other types
            follow mmengine. Defaults to None (the released initialisation).
    """

    arch_zoo: Dict[str, dict] = {
        'tiny': dict(focus_dims=256, embed_dims=512, num_layers=8, num_heads=64, mlp_ratio=4,
                     num_latent_tokens=49),
        'small': dict(focus_dims=320, embed_dims=640, num_layers=8, num_heads=64, mlp_ratio=4,
                      num_latent_tokens=64),
        'base': dict(focus_dims=384, embed_dims=768, num_layers=10, num_heads=64, mlp_ratio=4,
                     num_latent_tokens=81),
    }
    _required_arch_keys = ('focus_dims', 'embed_dims', 'num_layers')
    _arch_defaults = dict(num_heads=64, mlp_ratio=4, num_latent_tokens=49)

    def __init__(self,
                 arch: Union[str, dict] = 'tiny',
                 num_latent_tokens: Optional[int] = None,
                 num_points: int = 36,
                 conv_channels: int = 96,
                 focus_repeats: int = 4,
                 out_keys: Sequence[str] = ('embed', ),
                 drop_path_rate: float = 0.,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=strict_init_cfg(init_cfg))
        self.arch_settings = arch = self._parse_arch(arch)
        self._out_keys = self._parse_out_keys(out_keys)
        N = arch['num_latent_tokens'] if num_latent_tokens is None else num_latent_tokens
        if N < 1:
            raise ValueError(f'num_latent_tokens must be >= 1, got {N}')
        root = math.isqrt(num_points) if num_points >= 1 else 0
        if num_points < 1 or root * root != num_points:
            raise ValueError(
                f'num_points must be a positive perfect square (the offset-bias grid is '
                f'sqrt(P) x sqrt(P)), got {num_points}')
        if focus_repeats < 1:
            raise ValueError(f'focus_repeats must be >= 1, got {focus_repeats}')
        Df, D, L, H = arch['focus_dims'], arch['embed_dims'], arch['num_layers'], arch['num_heads']
        if L < 1:
            raise ValueError(f'num_layers counts the cortex sampling unit and must be >= 1, '
                             f'got {L}')
        for name, width in (('focus_dims', Df), ('embed_dims', D)):
            if width % H != 0:
                raise ValueError(f'{name} ({width}) must be divisible by num_heads ({H})')

        self.num_latent_tokens = N
        self.num_points = num_points
        self.focus_repeats = R = focus_repeats
        self.focus_dims = Df
        self.embed_dims = D
        self.num_layers = L

        dpr = torch.linspace(0, drop_path_rate, R + L, device='cpu').tolist()
        self.stem = EarlyConv(3, conv_channels, eps=1e-5)
        self.init_embed = nn.Embedding(N, Df)
        self.init_rois = nn.Embedding(N, 4)
        self.focus = _V1Unit(Df, conv_channels, num_points, H, arch['mlp_ratio'], R, dpr[:R])
        self.transition = nn.Linear(Df, D)
        self.transition_norm = nn.LayerNorm(D, eps=V1_LN_EPS)
        self.final = _V1Unit(D, conv_channels, num_points, H, arch['mlp_ratio'], 1, dpr[R:R + 1])
        self.blocks = nn.ModuleList([
            TransformerBlock(D, H, arch['mlp_ratio'], 'gelu', V1_LN_EPS, dpr[R + 1 + i])
            for i in range(L - 1)
        ])
        self.norm = nn.LayerNorm(D, eps=V1_LN_EPS)
        self.reset_parameters()

    # ------------------------------------------------------------------ building
    def _parse_arch(self, arch: Union[str, dict]) -> dict:
        if isinstance(arch, str):
            if arch not in self.arch_zoo:
                raise ValueError(f'unknown arch {arch!r}; presets: {sorted(self.arch_zoo)}')
            return dict(self.arch_zoo[arch])
        if not isinstance(arch, dict):
            raise TypeError(f'arch must be a str or dict, got {type(arch).__name__}')
        missing = [k for k in self._required_arch_keys if k not in arch]
        unknown = [k for k in arch
                   if k not in self._required_arch_keys + tuple(self._arch_defaults)]
        if missing or unknown:
            raise ValueError(f'bad arch dict: missing keys {missing}, unknown keys {unknown}; '
                             f'required {list(self._required_arch_keys)}, optional '
                             f'{list(self._arch_defaults)}')
        return {**self._arch_defaults, **arch}

    @staticmethod
    def _parse_out_keys(out_keys: Sequence[str]) -> Tuple[str, ...]:
        if isinstance(out_keys, str):
            out_keys = (out_keys, )
        out_keys = tuple(out_keys)
        bad = [k for k in out_keys if k not in OUT_KEYS]
        if bad or not out_keys:
            raise ValueError(f'invalid out_keys {list(out_keys)}; valid names: {list(OUT_KEYS)}')
        return out_keys

    @property
    def out_keys(self) -> Tuple[str, ...]:
        """What :meth:`forward` returns, in order (fixed at construction; every output
        is available from :meth:`forward_dict`)."""
        return self._out_keys

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """Initialise every parameter as the released ``srnet_init`` does.

        Linear: truncated normal std 0.02, bias 0; LayerNorm: weight 1, bias 0; then the
        branch rules of :class:`RoIAdjust` and :class:`AdaptiveSamplingMixing` (opening
        LayerNorms ``width**-0.5``, zero last Linears, offset-bias grid, Xavier generator
        bias, zero mixing biases), the early conv (Kaiming normal fan_out), the initial
        embedding (truncated normal std 1, cut at +-2) and the initial RoI grid.
        """
        init_linear_and_norm(self)
        for m in self.modules():
            if isinstance(m, (EarlyConv, AdaptiveSamplingMixing, RoIAdjust)):
                m.reset_parameters()
        nn.init.trunc_normal_(self.init_embed.weight, std=1., a=-2., b=2.)
        self.init_rois.weight.copy_(initial_roi_grid(self.num_latent_tokens))

    # ------------------------------------------------------------------ forward
    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Run the SparseFormer.

        Args:
            x (Tensor): Images of shape (B, 3, H, W), any size.

        Returns:
            tuple[Tensor]: One entry per ``out_keys`` name, in order:

            - ``'feat_map'``: early-conv map (B, C, ceil(H/4), ceil(W/4)), float32.
            - ``'rois'``: RoIs ``x1y1x2y2`` (B, R+2, N, 4), float32: the initial RoIs, those
              after each focusing repeat, and those after the cortex sampling unit's
              adjustment (where it samples).
            - ``'points'``: the cortex sampling unit's points (B, N, P, 2) in [0, 1], float32.
            - ``'tokens'``: output of the last block (B, N, D), before the final norm.
            - ``'embed'``: LayerNorm of the token mean, (B, D).
        """
        outs = self.forward_dict(x)
        return tuple(outs[key] for key in self.out_keys)

    def forward_dict(self, x: Tensor) -> Dict[str, Tensor]:
        """Every output, by name, whatever ``out_keys`` (shapes: see :meth:`forward`).

        Args:
            x (Tensor): Images of shape (B, 3, H, W).

        Returns:
            dict[str, Tensor]: ``'feat_map'``, ``'rois'``, ``'points'``, ``'tokens'`` and
            ``'embed'``.
        """
        B = x.shape[0]
        feat = self.stem(x)
        tokens = self.init_embed.weight.expand(B, -1, -1)
        rois = at_least_fp32(self.init_rois.weight).expand(B, -1, -1)
        tokens, focus_rois, _ = self.focus(tokens, rois, feat)
        tokens = self.transition_norm(self.transition(tokens))
        tokens, final_rois, points = self.final(tokens, focus_rois[-1], feat)
        for block in self.blocks:
            tokens = block(tokens)
        return dict(feat_map=feat, rois=torch.stack([rois] + focus_rois + final_rois, dim=1),
                    points=points, tokens=tokens, embed=self.norm(tokens.mean(dim=1)))

    # ------------------------------------------------------------------ optimisation helpers
    def get_layer_depth(self, param_name: str, prefix: str = '') -> Tuple[int, int]:
        """Layer depth of a parameter, for layer-wise learning-rate decay.

        The focusing part (:data:`FOCUSING_PARTS_V1`: stem, initial tokens/RoIs, focusing
        unit, transition) is depth 0, the cortex sampling unit ``final`` depth 1, block ``k``
        depth ``k + 2``, and everything else (final norm, parameters outside ``prefix``) the
        last depth.

        Args:
            param_name (str): Parameter name, e.g. ``'backbone.blocks.3.attn.qkv.weight'``.
            prefix (str): Prefix of this backbone's parameters in ``param_name``.
                Defaults to ''.

        Returns:
            tuple[int, int]: ``(layer_depth, num_layers)`` with ``num_layers = L + 2``
            (``L`` cortex-width units).
        """
        num_layers = self.num_layers + 2
        if not param_name.startswith(prefix):
            return num_layers - 1, num_layers
        name = param_name[len(prefix):]
        head = name.split('.', 1)[0]
        if head in FOCUSING_PARTS_V1:
            return 0, num_layers
        if head == 'final':
            return 1, num_layers
        if head == 'blocks':
            return int(name.split('.')[1]) + 2, num_layers
        return num_layers - 1, num_layers


__all__: List[str] = ['SparseFormerV1', 'FOCUSING_PARTS_V1']
