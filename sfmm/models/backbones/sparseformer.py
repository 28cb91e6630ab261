"""SparseFormer backbone as bootstrapped from vision foundation models."""
import math
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from sfmm.models.layers import (ACTIVATIONS, AdaptiveSamplingMixing, EarlyConv, FocusingUnit,
                                RoIAdjust, SamplingUnit, TransformerBlock)
from sfmm.models.layers.precision import at_least_fp32
from sfmm.models.utils.weight_init import (init_linear_and_norm, initial_roi_grid,
                                           strict_init_cfg)
from sfmm.registry import MODELS

Tensor = torch.Tensor

#: Names that ``out_keys`` may contain, see :meth:`SparseFormer.forward`.
OUT_KEYS = ('feat_map', 'rois', 'points', 'tokens', 'embed')
#: Further ``out_keys`` names, computed only when asked: the early conv's stride-2 map.
EXTRA_OUT_KEYS = ('feat_map_s2', )
#: The embedding head (final norm, projection): built only when ``'embed'`` is in ``out_keys``.
EMBED_HEAD_PARTS = ('norm', 'proj')
#: Top-level modules forming the "focusing part" (trained from scratch when bootstrapping).
FOCUSING_PARTS = ('stem', 'init_embed', 'init_rois', 'focus', 'transition', 'final', 'cls_token')
#: Groups of keys that an ``sfmm.Pretrained`` ``init_cfg`` may allow to be missing
#: (``allow_missing=('focusing', )``).
ALLOW_MISSING_GROUPS = {'focusing': FOCUSING_PARTS}


@MODELS.register_module()
class SparseFormer(BaseModule):
    """SparseFormer: a focusing transformer in front of a plain ViT cortex.

    Paper: "Bootstrapping SparseFormers from Vision Foundation Models", CVPR 2024
    (https://arxiv.org/abs/2312.01987); SparseFormer (https://arxiv.org/abs/2304.03768).
    The layout, initialisation and numerics follow sfmm's SPEC and match the released
    ("v2 converted") models of showlab/sparseformer.

    An early convolution gives a ``(B, C, H/4, W/4)`` map. ``N`` latent tokens with learned
    RoIs run the shared focusing unit ``focus_repeats`` times (sampling + mixing, RoI position
    encoding, attention, FFN, RoI adjustment), a Linear maps them to the cortex width, a final
    sampling unit samples once more at the final RoIs, a [CLS] token is prepended and the
    cortex (pre-norm ViT blocks) runs. The embedding is the [CLS] token after the final
    LayerNorm (and the projection, if any).

    Args:
        arch (str | dict): A preset of :attr:`arch_zoo` (``'b-augreg'``, ``'l-augreg'``,
            ``'b-clip'``, ``'l-clip'``) or a dict with ``focus_dims``, ``embed_dims``,
            ``num_layers``, ``num_heads`` and optionally ``mlp_ratio`` (4), ``act``
            (``'gelu'`` | ``'quick_gelu'``), ``proj_dims`` (None) and ``proj_bias`` (False).
            Defaults to 'b-augreg'.
        num_latent_tokens (int): Latent tokens ``N`` (the [CLS] token is extra).
            Defaults to 48.
        num_points (int): Sampling points per token ``P``, a perfect square. Defaults to 16.
        conv_channels (int): Early-conv channels ``C``. Defaults to 64.
        focus_repeats (int): Repeats of the focusing unit ``R``. Defaults to 4.
        out_keys (Sequence[str]): What :meth:`forward` returns, in order; names from
            :data:`OUT_KEYS` and :data:`EXTRA_OUT_KEYS`. The embedding head (final norm and
            projection, :data:`EMBED_HEAD_PARTS`) is built only if ``'embed'`` is among
            them; a checkpoint that has it then loads with ``drop_keys=('norm', 'proj')``
            in its ``init_cfg``. Defaults to ('embed', ).
        cls_only_last_block (bool): Compute only the [CLS] row of the last cortex block
            (:meth:`TransformerBlock.forward_queries`): the same ``'embed'`` at about 7/8 of
            the cortex cost, for models that read out only the [CLS] token (classification,
            bootstrapping, zero-shot, retrieval). The latent tokens of the last block are
            then not computed, so ``'tokens'`` cannot be in ``out_keys``. Defaults to False.
        ln_eps (float): Epsilon of every LayerNorm. Defaults to 1e-5.
        drop_path_rate (float): Stochastic depth rate. As in the released code it rises as
            ``linspace(0, rate, R + 1 + num_layers)`` over the focusing repeats (their
            sampling, attention and FFN branches), the final sampling unit's mixing branch and
            the cortex blocks, in that order. Defaults to 0.
        mixing_hidden_dims (int): Hidden width of the mixing parameter generators.
            Defaults to 128.
        mixing_out_points (int, optional): Spatial-mixing output points. Defaults to None
            (``max(P, 32)``).
        init_cfg (dict, optional): ``dict(type='sfmm.Pretrained', checkpoint=...,
            prefix=...)`` loads a checkpoint strictly through :mod:`sfmm.weights` (options
            ``allow_missing`` from :attr:`allow_missing_groups`, ``extend_tokens``,
            ``drop_keys`` from :attr:`droppable_parts`); ``type='Pretrained'`` means the same.
            Other types follow mmengine. Defaults to None (SPEC initialisation).
    """

    #: Key groups an ``sfmm.Pretrained`` ``init_cfg`` may allow to be missing.
    allow_missing_groups: Dict[str, Tuple[str, ...]] = ALLOW_MISSING_GROUPS
    #: Parts whose checkpoint keys an ``sfmm.Pretrained`` ``init_cfg`` may drop
    #: (``drop_keys``), when this model does not build them.
    droppable_parts: Tuple[str, ...] = EMBED_HEAD_PARTS

    arch_zoo: Dict[str, dict] = {
        'b-augreg': dict(focus_dims=384, embed_dims=768, num_layers=8, num_heads=12,
                         mlp_ratio=4, act='gelu', proj_dims=None, proj_bias=False),
        'l-augreg': dict(focus_dims=512, embed_dims=1024, num_layers=16, num_heads=16,
                         mlp_ratio=4, act='gelu', proj_dims=None, proj_bias=False),
        'b-clip': dict(focus_dims=384, embed_dims=768, num_layers=8, num_heads=12,
                       mlp_ratio=4, act='quick_gelu', proj_dims=512, proj_bias=False),
        'l-clip': dict(focus_dims=512, embed_dims=1024, num_layers=16, num_heads=16,
                       mlp_ratio=4, act='quick_gelu', proj_dims=768, proj_bias=False),
    }
    _required_arch_keys = ('focus_dims', 'embed_dims', 'num_layers', 'num_heads')
    _arch_defaults = dict(mlp_ratio=4, act='gelu', proj_dims=None, proj_bias=False)

    def __init__(self,
                 arch: Union[str, dict] = 'b-augreg',
                 num_latent_tokens: int = 48,
                 num_points: int = 16,
                 conv_channels: int = 64,
                 focus_repeats: int = 4,
                 out_keys: Sequence[str] = ('embed', ),
                 cls_only_last_block: bool = False,
                 ln_eps: float = 1e-5,
                 drop_path_rate: float = 0.,
                 mixing_hidden_dims: int = 128,
                 mixing_out_points: Optional[int] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=strict_init_cfg(init_cfg))
        self.arch_settings = arch = self._parse_arch(arch)
        out_keys = self._parse_out_keys(out_keys)
        if cls_only_last_block and 'tokens' in out_keys:
            raise ValueError(f"out_keys {list(out_keys)} ask for 'tokens', but "
                             f"cls_only_last_block=True computes only the [CLS] row of the "
                             f"last cortex block: drop 'tokens' or set "
                             f"cls_only_last_block=False")
        #: Whether the final norm and projection exist (``'embed'`` asked at construction).
        self.with_embed_head = 'embed' in out_keys
        self._out_keys = out_keys
        #: Whether the last cortex block computes its [CLS] row only (fixed at construction).
        self.cls_only_last_block = bool(cls_only_last_block)
        if num_latent_tokens < 1:
            raise ValueError(f'num_latent_tokens must be >= 1, got {num_latent_tokens}')
        root = math.isqrt(num_points) if num_points >= 1 else 0
        if num_points < 1 or root * root != num_points:
            raise ValueError(
                f'num_points must be a positive perfect square (the offset-bias grid is '
                f'sqrt(P) x sqrt(P)), got {num_points}')
        Df, D = arch['focus_dims'], arch['embed_dims']
        if Df % 64 != 0:
            raise ValueError(f'focus_dims must be divisible by 64 (one focusing head is 64 '
                             f'wide), got {Df}')
        if D % arch['num_heads'] != 0:
            raise ValueError(f"embed_dims ({D}) must be divisible by num_heads "
                             f"({arch['num_heads']})")
        if D % 4 != 0:
            raise ValueError(f'embed_dims must be divisible by 4 (RoI position encoding), '
                             f'got {D}')

        self.num_latent_tokens = num_latent_tokens
        self.num_points = num_points
        self.focus_repeats = focus_repeats
        self.focus_dims = Df
        self.embed_dims = D
        self.num_layers = arch['num_layers']

        R, L = focus_repeats, self.num_layers
        n = R + 1 + L  # linspace(0, rate, n), in Python so that meta-device builds work
        dpr = [drop_path_rate * i / (n - 1) for i in range(n)] if n > 1 else [0.]
        self.stem = EarlyConv(3, conv_channels, eps=1e-5)
        self.init_embed = nn.Embedding(1, Df)
        self.init_rois = nn.Embedding(num_latent_tokens, 4)
        self.focus = FocusingUnit(
            Df, conv_channels, num_points, focus_repeats, mlp_ratio=4.,
            mixing_hidden_dims=mixing_hidden_dims, mixing_out_points=mixing_out_points,
            ln_eps=ln_eps, drop_path_rates=dpr[:R])
        self.transition = nn.Linear(Df, D)
        self.final = SamplingUnit(D, conv_channels, num_points, mixing_hidden_dims,
                                  mixing_out_points, ln_eps, drop_path_rate=dpr[R])
        self.cls_token = nn.Embedding(1, D)
        self.blocks = nn.ModuleList([
            TransformerBlock(D, arch['num_heads'], arch['mlp_ratio'], arch['act'], ln_eps,
                             dpr[R + 1 + i]) for i in range(L)
        ])
        # the embedding head only when something reads it (no unused parameters under DDP)
        proj_dims = arch['proj_dims'] if self.with_embed_head else None
        self.norm = nn.LayerNorm(D, eps=ln_eps) if self.with_embed_head else None
        self.proj = nn.Linear(D, proj_dims, bias=arch['proj_bias']) if proj_dims else None
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
        unknown = [k for k in arch if k not in self._required_arch_keys + tuple(
            self._arch_defaults)]
        if missing or unknown:
            raise ValueError(f'bad arch dict: missing keys {missing}, unknown keys {unknown}; '
                             f'required {list(self._required_arch_keys)}, optional '
                             f'{list(self._arch_defaults)}')
        settings = {**self._arch_defaults, **arch}
        if settings['act'] not in ACTIVATIONS:
            raise ValueError(f"unknown act {settings['act']!r}; valid: {ACTIVATIONS}")
        return settings

    @staticmethod
    def _parse_out_keys(out_keys: Sequence[str]) -> Tuple[str, ...]:
        if isinstance(out_keys, str):
            out_keys = (out_keys, )
        out_keys = tuple(out_keys)
        valid = OUT_KEYS + EXTRA_OUT_KEYS
        bad = [k for k in out_keys if k not in valid]
        if bad or not out_keys:
            raise ValueError(f'invalid out_keys {list(out_keys)}; valid names: {list(valid)}')
        return out_keys

    @property
    def out_keys(self) -> Tuple[str, ...]:
        """What :meth:`forward` returns, in order (fixed at construction; every output
        the model computes is available from :meth:`forward_dict`)."""
        return self._out_keys

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """Initialise every parameter as SPEC "Initialisation" prescribes.

        Linear: truncated normal std 0.02, bias 0; LayerNorm: weight 1, bias 0; then the
        special cases of the sub-blocks (offset / parameter-generator / RoI-adjust branches,
        early conv), [CLS] and stage embeddings standard normal, the initial embedding
        truncated normal std 1 (cut at +-2) and the initial RoI grid.
        """
        init_linear_and_norm(self)
        for m in self.modules():
            if isinstance(m, (EarlyConv, AdaptiveSamplingMixing, RoIAdjust)):
                m.reset_parameters()
        nn.init.normal_(self.cls_token.weight)
        nn.init.normal_(self.focus.stage_embed.weight)
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
            - ``'feat_map_s2'``: the early conv's own stride-2 map (conv + ReLU before the
              max-pool, channel-normalised like ``'feat_map'``) (B, C, ceil(H/2),
              ceil(W/2)), float32; computed only when asked.
            - ``'rois'``: RoIs ``x1y1x2y2`` in [0, 1] (B, R+1, N, 4), float32; index 0 is the
              initial RoI, index R the final one used by the final sampling unit.
            - ``'points'``: final sampling points (B, N, P, 2) in [0, 1], float32.
            - ``'tokens'``: output of the last cortex block (B, 1+N, D), [CLS] first,
              before the final norm.
            - ``'embed'``: [CLS] after the final norm, then the projection if any: (B, E).
        """
        outs = self.forward_dict(x, with_s2='feat_map_s2' in self.out_keys)
        return tuple(outs[key] for key in self.out_keys)

    def forward_dict(self, x: Tensor, with_s2: bool = False) -> Dict[str, Tensor]:
        """Every output the model computes, by name (see :meth:`forward` for the shapes).

        Whatever ``out_keys`` says: ``'feat_map'``, ``'rois'``, ``'points'``, ``'tokens'``
        (unless :attr:`cls_only_last_block`), ``'embed'`` (if :attr:`with_embed_head`) and
        ``'feat_map_s2'`` (if ``with_s2``). For inference tools that show RoIs and points
        next to a head's prediction.

        Args:
            x (Tensor): Images of shape (B, 3, H, W).
            with_s2 (bool): Also compute the stride-2 map. Defaults to False.

        Returns:
            dict[str, Tensor]: The outputs.
        """
        feat, feat_s2, rois, focus_rois, points, tokens = self._encode(x, with_s2)
        if self.cls_only_last_block and self.blocks:
            for block in self.blocks[:-1]:
                tokens = block(tokens)
            tokens = self.blocks[-1].forward_queries(tokens, 1)
        else:
            for block in self.blocks:
                tokens = block(tokens)
        outs = dict(feat_map=feat, rois=torch.stack([rois] + focus_rois, dim=1),
                    points=points)
        if with_s2:
            outs['feat_map_s2'] = feat_s2
        if not self.cls_only_last_block:
            outs['tokens'] = tokens
        if self.with_embed_head:
            embed = self.norm(tokens[:, 0])
            outs['embed'] = self.proj(embed) if self.proj is not None else embed
        return outs

    def forward_cortex_tokens(self, x: Tensor, depth: Optional[int] = None) -> List[Tensor]:
        """Token outputs of the cortex blocks, every row of every block.

        Whatever ``out_keys`` and :attr:`cls_only_last_block` say, every block runs in full.

        For feature extraction from an intermediate block (e.g. LLaVA-style visual tokens,
        :func:`sfmm.apis.open_clip.sparseformer_llava_features`).

        Args:
            x (Tensor): Images of shape (B, 3, H, W).
            depth (int, optional): Run only the first ``depth`` cortex blocks. Defaults to
                None (all of them).

        Returns:
            list[Tensor]: Output of cortex block ``k`` at index ``k``, each (B, 1+N, D),
            [CLS] first, before the final norm.
        """
        depth = len(self.blocks) if depth is None else depth
        if not 0 <= depth <= len(self.blocks):
            raise ValueError(f'depth must be in [0, {len(self.blocks)}], got {depth}')
        tokens = self._encode(x, False)[-1]
        outs = []
        for block in self.blocks[:depth]:
            tokens = block(tokens)
            outs.append(tokens)
        return outs

    def _encode(self, x: Tensor, with_s2: bool = False) -> tuple:
        """Everything before the cortex: early conv, focusing, transition, final sampling.

        Returns:
            tuple: ``feat`` (B, C, h, w), ``feat_s2`` (B, C, ceil(H/2), ceil(W/2)) or None,
            initial RoIs (B, N, 4), the RoIs after each focusing repeat (list of (B, N, 4)),
            final sampling points (B, N, P, 2) and the cortex input (B, 1+N, D), [CLS] first.
        """
        B = x.shape[0]
        N = self.num_latent_tokens
        feat, feat_s2 = self.stem(x, return_stride2=True) if with_s2 else (self.stem(x), None)
        tokens = self.init_embed.weight.expand(B, N, -1)
        rois = at_least_fp32(self.init_rois.weight).expand(B, N, 4)
        tokens, focus_rois = self.focus(tokens, rois, feat)
        tokens = self.transition(tokens)
        tokens, points = self.final(tokens, focus_rois[-1], feat)
        cls = self.cls_token.weight.expand(B, 1, -1).to(tokens.dtype)
        return feat, feat_s2, rois, focus_rois, points, torch.cat([cls, tokens], dim=1)

    # ------------------------------------------------------------------ optimisation helpers
    def get_layer_depth(self, param_name: str, prefix: str = '') -> Tuple[int, int]:
        """Layer depth of a parameter, for layer-wise learning-rate decay.

        The focusing part (stem, initial tokens/RoIs, focusing unit, transition, final
        sampling unit, [CLS]) is depth 0, cortex block ``k`` is ``k + 1`` and everything else
        (final norm, projection, and parameters outside ``prefix``) is the last depth.

        Args:
            param_name (str): Parameter name, e.g. ``'backbone.blocks.3.attn.qkv.weight'``.
            prefix (str): Prefix of this backbone's parameters in ``param_name``.
                Defaults to ''.

        Returns:
            tuple[int, int]: ``(layer_depth, num_layers)`` with
            ``num_layers = num_cortex_blocks + 2``.
        """
        num_layers = self.num_layers + 2
        if not param_name.startswith(prefix):
            return num_layers - 1, num_layers
        name = param_name[len(prefix):]
        head = name.split('.', 1)[0]
        if head in FOCUSING_PARTS:
            return 0, num_layers
        if head == 'blocks':
            return int(name.split('.')[1]) + 1, num_layers
        return num_layers - 1, num_layers


__all__: List[str] = ['SparseFormer', 'OUT_KEYS', 'EXTRA_OUT_KEYS', 'EMBED_HEAD_PARTS',
                      'FOCUSING_PARTS', 'ALLOW_MISSING_GROUPS', 'initial_roi_grid']
