"""SparseFormer backbone as bootstrapped from vision foundation models."""
import math
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from sfmm.models.layers import (ACTIVATIONS, AdaptiveSamplingMixing, EarlyConv, FocusingUnit,
                                RoIAdjust, SamplingUnit, TransformerBlock, fused_linear)
from sfmm.models.layers.precision import at_least_fp32
from sfmm.models.utils.weight_init import init_linear_and_norm
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
#: Groups of keys that a ``Pretrained`` ``init_cfg`` may explicitly allow to be missing.
ALLOW_MISSING_GROUPS = {'focusing': FOCUSING_PARTS}


class StrictPretrainedInit:
    """``init_weights`` of sfmm's backbones: a ``Pretrained`` ``init_cfg`` loads strictly.

    ``init_cfg=dict(type='Pretrained', checkpoint=PATH, prefix='backbone.', **options)`` calls
    the backbone's ``load_pretrained(checkpoint=PATH, prefix=..., **options)``, which reads the
    file, converts a released showlab/sparseformer layout and loads with ``strict=True``
    (missing or unexpected keys raise a ``KeyError`` listing them). Without an ``init_cfg``
    the initialisation applied at construction is kept; other ``init_cfg`` types are applied
    by mmengine. Mixed in before ``BaseModule``.
    """

    def init_weights(self) -> None:
        """Initialise, or load a checkpoint strictly when ``init_cfg`` is ``Pretrained``."""
        cfg = self.init_cfg
        if isinstance(cfg, list):
            pretrained = [c for c in cfg if c.get('type') == 'Pretrained']
            if pretrained and len(cfg) > 1:
                raise ValueError('a Pretrained init_cfg cannot be combined with other types')
            cfg = pretrained[0] if pretrained else cfg
        if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained':
            self.load_pretrained(**{k: v for k, v in cfg.items() if k != 'type'})
            self._is_init = True
        elif cfg is not None:
            super().init_weights()
        else:
            self._is_init = True


@MODELS.register_module()
class SparseFormer(StrictPretrainedInit, BaseModule):
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
            (see :meth:`load_pretrained`). Defaults to ('embed', ).
        ln_eps (float): Epsilon of every LayerNorm. Defaults to 1e-5.
        drop_path_rate (float): Stochastic depth rate. As in the released code it rises as
            ``linspace(0, rate, R + 1 + num_layers)`` over the focusing repeats (their
            sampling, attention and FFN branches), the final sampling unit's mixing branch and
            the cortex blocks, in that order. Defaults to 0.
        mixing_hidden_dims (int): Hidden width of the mixing parameter generators.
            Defaults to 128.
        mixing_out_points (int, optional): Spatial-mixing output points. Defaults to None
            (``max(P, 32)``).
        init_cfg (dict, optional): ``dict(type='Pretrained', checkpoint=..., prefix=...)``
            loads a checkpoint strictly (see :meth:`init_weights`); other types follow
            mmengine. Defaults to None (SPEC initialisation).
    """

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
                 ln_eps: float = 1e-5,
                 drop_path_rate: float = 0.,
                 mixing_hidden_dims: int = 128,
                 mixing_out_points: Optional[int] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.arch_settings = arch = self._parse_arch(arch)
        out_keys = self._parse_out_keys(out_keys)
        #: Whether the final norm and projection exist (``'embed'`` asked at construction).
        self.with_embed_head = 'embed' in out_keys
        self.out_keys = out_keys
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
        """What :meth:`forward` returns, in order (may be reassigned; ``'embed'`` only if
        the model was built with it, see :attr:`with_embed_head`)."""
        return self._out_keys

    @out_keys.setter
    def out_keys(self, keys: Sequence[str]) -> None:
        keys = self._parse_out_keys(keys)
        if 'embed' in keys and not self.with_embed_head:
            raise ValueError(
                f"out_keys {list(keys)} ask for 'embed', but this SparseFormer was built "
                f"without its embedding head ({', '.join(EMBED_HEAD_PARTS)}): build it with "
                f"'embed' in out_keys")
        self._out_keys = keys

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

            Without ``'tokens'`` in ``out_keys`` the last cortex block computes only its
            [CLS] row (:meth:`TransformerBlock.forward_queries`), which gives the same
            embedding at about 7/8 of the cortex cost.
        """
        with_s2 = 'feat_map_s2' in self.out_keys
        feat, feat_s2, rois, focus_rois, points, tokens = self._encode(x, with_s2)
        if 'tokens' in self.out_keys or not self.blocks:
            for block in self.blocks:
                tokens = block(tokens)
        else:  # only [CLS] is read out: the last block computes its [CLS] row alone
            for block in self.blocks[:-1]:
                tokens = block(tokens)
            tokens = self.blocks[-1].forward_queries(tokens, 1)

        outs = []
        for key in self.out_keys:
            if key == 'feat_map':
                outs.append(feat)
            elif key == 'feat_map_s2':
                outs.append(feat_s2)
            elif key == 'rois':
                outs.append(torch.stack([rois] + focus_rois, dim=1))
            elif key == 'points':
                outs.append(points)
            elif key == 'tokens':
                outs.append(tokens)
            else:
                embed = self.norm(tokens[:, 0])
                outs.append(self.proj(embed) if self.proj is not None else embed)
        return tuple(outs)

    def forward_cortex_tokens(self, x: Tensor, depth: Optional[int] = None) -> List[Tensor]:
        """Token outputs of the cortex blocks, every row of every block, whatever ``out_keys``.

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
        tokens = fused_linear(tokens, self.transition)
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

    # ------------------------------------------------------------------ weights
    def load_pretrained(self, checkpoint: str, prefix: Optional[str] = None,
                        allow_missing: Iterable[str] = (),
                        map_location: str = 'cpu',
                        extend_tokens: bool = False,
                        drop_keys: Iterable[str] = ()) -> None:
        """Load a checkpoint strictly through an explicit key filter.

        Args:
            checkpoint (str): Local path (or any URI mmengine can read).
            prefix (str, optional): Only keys starting with it are kept (and stripped), e.g.
                ``'backbone.'`` for an ImageClassifier checkpoint. Defaults to None (all keys;
                ``'backbone.'`` for a released showlab/sparseformer checkpoint).
            allow_missing (Iterable[str]): Key groups that may be missing, from
                :data:`ALLOW_MISSING_GROUPS`. Defaults to ().
            map_location (str): Where tensors are loaded. Defaults to 'cpu'.
            extend_tokens (bool): If the checkpoint has fewer latent tokens than this model
                (e.g. a 49-token bootstrap checkpoint in a 256-token segmenter), keep its
                learned initial RoIs and add grid RoIs for the new tokens with
                :func:`sfmm.models.utils.extend_tokens.extend_latent_tokens`. Defaults to
                False (a token-count mismatch fails the strict load).
            drop_keys (Iterable[str]): Parts of :data:`EMBED_HEAD_PARTS` (``'norm'``,
                ``'proj'``) whose checkpoint keys are dropped before the strict match, for a
                model built without them (no ``'embed'`` in ``out_keys``, e.g. a segmenter's
                backbone) loading a bootstrap or classification checkpoint. Naming a part the
                model has raises. Defaults to ().

        Raises:
            KeyError: If keys are missing (outside the allowed groups) or unexpected.
            ValueError: If ``allow_missing`` names an unknown group.
        """
        state = _read_checkpoint(checkpoint, map_location)
        state = filter_pretrained_state(state, prefix)
        own = self.state_dict()
        state = drop_unbuilt_parts(state, drop_keys, own)
        if extend_tokens and 'init_rois.weight' in state:
            from sfmm.models.utils.extend_tokens import extend_latent_tokens
            state, _ = extend_latent_tokens(state, own, prefix='')
        groups = tuple(allow_missing)
        bad_groups = [g for g in groups if g not in ALLOW_MISSING_GROUPS]
        if bad_groups:
            raise ValueError(f'unknown allow_missing groups {bad_groups}; valid: '
                             f'{sorted(ALLOW_MISSING_GROUPS)}')
        allowed = tuple(p for g in groups for p in ALLOW_MISSING_GROUPS[g])
        missing = [k for k in own if k not in state]
        unexpected = sorted(k for k in state if k not in own)
        not_allowed = [k for k in missing if k.split('.', 1)[0] not in allowed]
        if not_allowed or unexpected:
            raise KeyError(f'checkpoint {checkpoint!r} (prefix {prefix!r}) does not match '
                           f'SparseFormer: missing keys {not_allowed}, unexpected keys '
                           f'{unexpected}')
        full = dict(own)
        full.update(state)
        self.load_state_dict(full, strict=True)


def initial_roi_grid(num_tokens: int) -> Tensor:
    """Initial RoIs: an ``r x r`` grid (``r = floor(sqrt(N))``) of half-size boxes.

    Token ``i * r + j`` spans ``[g_i/2, g_j/2, g_i/2 + 1/2, g_j/2 + 1/2]`` with
    ``g = arange(r) / (r - 1)``; remaining tokens (and all tokens when ``r == 1``, where the
    grid is undefined) cover the whole image ``[0, 0, 1, 1]``.

    Args:
        num_tokens (int): ``N``.

    Returns:
        Tensor: Shape (N, 4).
    """
    rois = torch.tensor([0., 0., 1., 1.]).repeat(num_tokens, 1)
    r = math.isqrt(num_tokens)
    if r >= 2:
        g = torch.arange(r, dtype=torch.float32) / (r - 1)
        gx, gy = torch.meshgrid(g, g, indexing='ij')
        lo = torch.stack([gx, gy], dim=-1).view(r * r, 2) * 0.5
        rois[:r * r] = torch.cat([lo, lo + 0.5], dim=-1)
    return rois


def drop_unbuilt_parts(state: Dict[str, Tensor], parts: Iterable[str],
                       own: Dict[str, Tensor]) -> Dict[str, Tensor]:
    """Remove the checkpoint keys of named top-level parts that a model does not build.

    Args:
        state (dict[str, Tensor]): Filtered checkpoint state (prefix already stripped).
        parts (Iterable[str]): Names from :data:`EMBED_HEAD_PARTS`, e.g. ``('norm', 'proj')``
            for a SparseFormer built without ``'embed'``.
        own (dict[str, Tensor]): The model's own state dict.

    Returns:
        dict[str, Tensor]: ``state`` without ``part.*`` keys for every named part.

    Raises:
        ValueError: If a name is not in :data:`EMBED_HEAD_PARTS`, or is a part the model
            has (its keys would then be missing, not dropped).
    """
    parts = (parts, ) if isinstance(parts, str) else tuple(parts)
    unknown = [p for p in parts if p not in EMBED_HEAD_PARTS]
    built = sorted({k.split('.', 1)[0] for k in own} & set(parts))
    if unknown or built:
        raise ValueError(f'drop_keys {list(parts)}: only parts the model does not build can be '
                         f'dropped, from {list(EMBED_HEAD_PARTS)}; unknown {unknown}, built '
                         f'{built}')
    return {k: v for k, v in state.items() if k.split('.', 1)[0] not in parts}


def filter_pretrained_state(state: dict, prefix: Optional[str] = None) -> Dict[str, Tensor]:
    """Unwrap a checkpoint and keep the keys of one module.

    Args:
        state (dict): Loaded checkpoint: a state dict, or one wrapped under ``state_dict``
            or ``model``. A released showlab/sparseformer state dict is converted first.
        prefix (str, optional): Keep keys starting with it, stripped. Defaults to None.

    Returns:
        dict[str, Tensor]: The filtered state dict.

    Raises:
        KeyError: If no key starts with ``prefix``.
    """
    from sfmm.models.utils.sparseformer_official import (convert_sparseformer_official,
                                                         is_sparseformer_official)
    for wrapper in ('state_dict', 'model'):
        if isinstance(state, dict) and wrapper in state and isinstance(state[wrapper], dict):
            state = state[wrapper]
            break
    if is_sparseformer_official(state):
        state = convert_sparseformer_official(state)
        prefix = 'backbone.' if prefix is None else prefix
    if prefix:
        kept = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if not kept:
            raise KeyError(f'no checkpoint key starts with prefix {prefix!r}; first keys: '
                           f'{list(state)[:10]}')
        return kept
    return dict(state)


def _read_checkpoint(path: str, map_location: str = 'cpu') -> dict:
    if '://' in str(path):
        from mmengine.runner.checkpoint import CheckpointLoader
        return CheckpointLoader.load_checkpoint(path, map_location=map_location)
    from sfmm.utils.checkpoint import load_checkpoint_file
    return load_checkpoint_file(path, map_location=map_location)


__all__: List[str] = ['SparseFormer', 'OUT_KEYS', 'EXTRA_OUT_KEYS', 'EMBED_HEAD_PARTS',
                      'FOCUSING_PARTS', 'initial_roi_grid', 'filter_pretrained_state',
                      'drop_unbuilt_parts']
