"""RoI-aware logit projection: the SparseFormer segmentation head (paper sec. 4.1, eq. 6-7)."""
import math
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.registry import DefaultScope
from mmseg.models.decode_heads.decode_head import BaseDecodeHead

from sfmm.models.layers import TransformerBlock
from sfmm.models.utils.weight_init import init_linear_and_norm
from sfmm.registry import MODELS

Tensor = torch.Tensor


@MODELS.register_module()
class RoILogitProjectionHead(BaseDecodeHead):
    """Project latent-token *logits* back to pixels with one biased attention step.

    Paper: "Bootstrapping SparseFormers from Vision Foundation Models", CVPR 2024
    (https://arxiv.org/abs/2312.01987), sec. 4.1 "Dense prediction task", eq. (6)-(7);
    sfmm SPEC, "Segmentation head".

    The latent tokens (the [CLS] token excluded) are reduced with ``Linear(D, channels)``,
    processed by ``num_blocks`` pre-norm transformer blocks of width ``channels`` and a final
    LayerNorm, and classified per token by ``Linear(channels, num_classes)`` into
    ``P_token (N, L)``. Dense queries are a 3x3 convolution (``C -> channels``) of the
    early-convolution map (stride 4; its stride-2 map with ``query_scale=2``); the keys are
    the ``channels``-wide tokens. Each pixel ``p`` gets

    ``P_dense[p] = softmax_n(q_p . k_n / sqrt(channels) + B_geo[p, n] + B_pred[n]) P_token[n]``

    - ``B_pred[n] = Linear(channels, 1)(t_n)``: the predicted importance of token ``n``,
      the same for every pixel.
    - ``B_geo[p, n] = -s * ((dx / w_n)^2 + (dy / h_n)^2) / 2`` where ``(dx, dy)`` is the
      offset of the pixel centre from the centre of token ``n``'s final RoI and ``(w_n, h_n)``
      is the RoI's size (all in normalised image coordinates). This is the log of an
      axis-aligned Gaussian laid in the RoI's own frame, with standard deviation
      ``1 / sqrt(s)`` RoI widths / heights: 0 at the RoI centre, falling quadratically with
      the offset measured in RoI units, so a token speaks mostly for the pixels its RoI
      covers and a large RoI reaches proportionally farther than a small one. The paper
      only says "Gaussian-like w.r.t. token RoIs" (after the original SparseFormer); sfmm
      chooses the log-Gaussian because it is the simplest form that (a) is exactly 0 at
      the centre and scale-free in RoI units, (b) is smooth, so gradients reach the RoIs
      (and through them the focusing transformer), and (c) has one interpretable knob. The
      default ``s = 4`` (``geo_scale_init``) makes the standard deviation half the RoI size,
      i.e. the Gaussian's 1-sigma ellipse is inscribed in the RoI: a pixel on the RoI's
      edge gets -0.5 per axis, one RoI width away -2, two widths away -8. ``s`` is a learnable
      positive scalar (stored as ``log s``) unless ``geo_scale_learnable=False``.

    The attention runs in float32 (also under autocast), over chunks of whole pixel rows
    (at most ``attn_chunk_size`` pixels, at least one row) if set, so a 512x512 input
    (16384 pixels x 256 tokens) needs one ``(B, 16384, 256)`` score tensor at most. Both
    biases are added in place to the scores as a row term plus a column term (``B_geo`` is
    separable in ``dx`` and ``dy``; ``B_pred`` joins the column term), so no second
    pixels-by-tokens tensor is built.

    Inputs (selected by ``in_index`` from the SparseFormer outputs, in this order):
    ``feat_map`` (B, C, h, w), ``rois`` (B, R+1, N, 4) or (B, N, 4) ``x1y1x2y2`` in [0, 1]
    (the last stage, ``rois[:, -1]``, is used), ``tokens`` (B, 1+N, D) with [CLS] first.
    Configure the backbone with ``out_keys=('feat_map', 'rois', 'tokens')`` and this head
    with ``in_channels=(C, 4, D)``, ``in_index=(0, 1, 2)``,
    ``input_transform='multiple_select'``. With ``query_scale=2`` a fourth input, the early
    convolution's own stride-2 map ``feat_map_s2`` (B, C, 2h, 2w) (conv + ReLU before the
    max-pool, channel-normalised), gives the queries instead: backbone
    ``out_keys=('feat_map', 'rois', 'tokens', 'feat_map_s2')``, head
    ``in_channels=(C, 4, D, C)``, ``in_index=(0, 1, 2, 3)``.

    Args:
        in_channels (Sequence[int]): ``(C, 4, D)``: early-conv channels, RoI size (4) and
            token width; ``(C, 4, D, C)`` with ``query_scale=2`` (the stride-2 map last).
            Defaults to (64, 4, 768).
        channels (int): Width ``d`` of the token blocks, queries and keys. Defaults to 256.
        num_classes (int): Number of classes ``L``. Defaults to 150.
        num_blocks (int): Transformer blocks on the reduced tokens. Defaults to 2.
        num_heads (int): Heads of those blocks (64-wide heads, as in SparseFormer).
            Defaults to 4.
        mlp_ratio (float): MLP ratio of those blocks. Defaults to 4.
        drop_path_rate (float): Stochastic depth of those blocks. Defaults to 0.
        has_cls_token (bool): ``tokens`` start with a [CLS] token, which is dropped.
            Defaults to True.
        use_geometric_bias (bool): Add ``B_geo``. Defaults to True.
        use_predictive_bias (bool): Add ``B_pred``. Defaults to True.
        geo_scale_init (float): Initial ``s`` of ``B_geo`` (> 0). Defaults to 4.
        geo_scale_learnable (bool): Learn ``s``; otherwise it stays fixed (a buffer).
            Defaults to True.
        min_roi_size (float): RoI width/height are clamped to at least this (normalised)
            value in ``B_geo``. Defaults to 1e-3.
        attn_chunk_size (int, optional): Pixels per attention chunk (rounded down to whole
            rows, at least one); None for all at once.
            Defaults to None.
        query_scale (int): 1 or 2: the dense queries (and logits) are at stride
            ``4 / query_scale``. 1 is SPEC's stride-4 head on ``feat_map``; 2 reads the
            early convolution's stride-2 map ``feat_map_s2`` (the fourth input), an option
            whose cost matches the paper's Table 5 FLOPs (see
            configs/segmentation/README.md). Defaults to 1.
        input_transform (str): Must be ``'multiple_select'``. Defaults to
            'multiple_select'.
        in_index (Sequence[int]): Indices of ``feat_map``, ``rois``, ``tokens`` (and
            ``feat_map_s2`` with ``query_scale=2``) in the backbone outputs.
            Defaults to (0, 1, 2).
        init_cfg (dict | list, optional): mmengine init config. Defaults to None (truncated
            normal std 0.02 for Linear layers, see :meth:`init_weights`).
        **kwargs: Other :class:`mmseg.models.decode_heads.BaseDecodeHead` arguments
            (``loss_decode``, ``ignore_index``, ``align_corners``, ``sampler`` ...).
            ``dropout_ratio`` applies to the reduced tokens before the token classifier.
    """

    def __init__(self,
                 in_channels: Sequence[int] = (64, 4, 768),
                 channels: int = 256,
                 num_classes: int = 150,
                 num_blocks: int = 2,
                 num_heads: int = 4,
                 mlp_ratio: float = 4.,
                 drop_path_rate: float = 0.,
                 has_cls_token: bool = True,
                 use_geometric_bias: bool = True,
                 use_predictive_bias: bool = True,
                 geo_scale_init: float = 4.,
                 geo_scale_learnable: bool = True,
                 min_roi_size: float = 1e-3,
                 attn_chunk_size: Optional[int] = None,
                 query_scale: int = 1,
                 input_transform: str = 'multiple_select',
                 in_index: Sequence[int] = (0, 1, 2),
                 init_cfg: Optional[dict] = None,
                 **kwargs) -> None:
        if input_transform != 'multiple_select':
            raise ValueError("RoILogitProjectionHead needs input_transform='multiple_select' "
                             f'(feat_map, rois, tokens), got {input_transform!r}')
        if query_scale not in (1, 2):
            raise ValueError(f'query_scale must be 1 (feat_map, stride 4) or 2 (feat_map_s2, '
                             f'stride 2), got {query_scale}')
        if query_scale == 1 and (len(in_channels) != 3 or in_channels[1] != 4):
            raise ValueError('in_channels must be (C, 4, D) for (feat_map, rois, tokens), '
                             f'got {in_channels}')
        if query_scale == 2 and (len(in_channels) != 4 or in_channels[1] != 4
                                 or in_channels[3] != in_channels[0]):
            raise ValueError('with query_scale=2 in_channels must be (C, 4, D, C) for '
                             f'(feat_map, rois, tokens, feat_map_s2), got {in_channels}')
        if geo_scale_init <= 0:
            raise ValueError(f'geo_scale_init must be > 0, got {geo_scale_init}')
        kwargs.setdefault('dropout_ratio', 0.)
        # an mmseg head: unscoped loss types (CrossEntropyLoss ...) are mmseg's, whatever
        # default scope the caller is in (mmpretrain has a different CrossEntropyLoss)
        with DefaultScope.overwrite_default_scope('mmseg'):
            super().__init__(
                in_channels=list(in_channels), channels=channels, num_classes=num_classes,
                input_transform=input_transform, in_index=list(in_index), init_cfg=init_cfg,
                **kwargs)
        # BaseDecodeHead's 1x1 ``conv_seg`` classifies pixel features; this head classifies
        # tokens instead, so the unused layer is removed (no dead parameters under DDP).
        del self.conv_seg
        # tokens are (B, N, d): plain dropout instead of BaseDecodeHead's Dropout2d
        self.dropout = nn.Dropout(self.dropout_ratio) if self.dropout_ratio > 0 else None
        conv_channels, _, token_dims = in_channels[:3]
        self.has_cls_token = has_cls_token
        self.use_geometric_bias = use_geometric_bias
        self.use_predictive_bias = use_predictive_bias
        self.min_roi_size = min_roi_size
        self.attn_chunk_size = attn_chunk_size
        self.query_scale = int(query_scale)

        self.token_reduce = nn.Linear(token_dims, channels)
        dpr = torch.linspace(0, drop_path_rate, max(num_blocks, 1)).tolist()
        self.token_blocks = nn.ModuleList([
            TransformerBlock(channels, num_heads, mlp_ratio, 'gelu', 1e-5, dpr[i])
            for i in range(num_blocks)
        ])
        self.token_norm = nn.LayerNorm(channels)
        self.token_cls = nn.Linear(channels, self.out_channels)
        self.query_conv = nn.Conv2d(conv_channels, channels, 3, padding=1)
        self.pred_bias = nn.Linear(channels, 1) if use_predictive_bias else None
        log_scale = torch.tensor(math.log(geo_scale_init))
        if not use_geometric_bias:
            self.geo_log_scale = None
        elif geo_scale_learnable:
            self.geo_log_scale = nn.Parameter(log_scale)
        else:
            self.register_buffer('geo_log_scale', log_scale)

    def init_weights(self) -> None:
        """Truncated normal (std 0.02) Linear weights with zero biases; LayerNorm 1/0; the
        query conv keeps PyTorch's default (Kaiming-uniform). An ``init_cfg`` overrides."""
        if self.init_cfg is not None:
            super().init_weights()
            return
        init_linear_and_norm(self)
        self._is_init = True

    # ------------------------------------------------------------------ pieces
    def _split_inputs(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, Tensor, Tensor]:
        """``(query map, final RoIs (B, N, 4), latent tokens (B, N, D))``; the query map is
        ``feat_map`` or, with ``query_scale=2``, ``feat_map_s2``."""
        selected = self._transform_inputs(inputs)
        feat, rois, tokens = selected[:3]
        if self.query_scale == 2:
            feat_s2 = selected[3]
            h2, w2 = feat_s2.shape[-2:]
            if (math.ceil(h2 / 2), math.ceil(w2 / 2)) != tuple(feat.shape[-2:]):
                raise ValueError(f'query_scale=2 needs the stride-2 map of feat_map '
                                 f'{tuple(feat.shape[-2:])} as the fourth input, got a '
                                 f'{(h2, w2)} map (check in_index / out_keys)')
            feat = feat_s2
        if rois.dim() == 4:
            rois = rois[:, -1]
        if self.has_cls_token:
            tokens = tokens[:, 1:]
        if tokens.shape[1] != rois.shape[1]:
            raise ValueError(f'{tokens.shape[1]} latent tokens but {rois.shape[1]} RoIs '
                             f'(has_cls_token={self.has_cls_token})')
        return feat, rois, tokens

    @property
    def geo_scale(self) -> Optional[Tensor]:
        """The current scale ``s`` of the geometric bias (None when it is off)."""
        return None if self.geo_log_scale is None else self.geo_log_scale.exp()

    def _axis_biases(self, rois: Tensor, size: Tuple[int, int]) -> Tuple[Tensor, Tensor]:
        """``B_geo`` split by axis: it is a sum of a row term and a column term.

        Args:
            rois (Tensor): Final RoIs (B, N, 4), ``x1y1x2y2`` in [0, 1].
            size (tuple[int, int]): ``(h, w)`` of the query map.

        Returns:
            tuple[Tensor, Tensor]: ``-s (dy/h_n)^2 / 2`` for each pixel row (B, h, N) and
            ``-s (dx/w_n)^2 / 2`` for each pixel column (B, w, N), float32.
        """
        h, w = size
        rois = rois.float()
        scale = -0.5 * self.geo_scale.float()
        cx, cy = (rois[..., 0] + rois[..., 2]) / 2, (rois[..., 1] + rois[..., 3]) / 2
        rw = (rois[..., 2] - rois[..., 0]).abs().clamp(min=self.min_roi_size)
        rh = (rois[..., 3] - rois[..., 1]).abs().clamp(min=self.min_roi_size)
        ys = (torch.arange(h, device=rois.device, dtype=torch.float32) + 0.5) / h
        xs = (torch.arange(w, device=rois.device, dtype=torch.float32) + 0.5) / w
        rows = ((ys[None, :, None] - cy[:, None, :]) / rh[:, None, :]).square() * scale
        cols = ((xs[None, :, None] - cx[:, None, :]) / rw[:, None, :]).square() * scale
        return rows, cols

    def geometric_bias(self, rois: Tensor, size: Tuple[int, int], start: int = 0,
                       stop: Optional[int] = None) -> Tensor:
        """``B_geo`` for the pixel centres of an ``h x w`` map (rows ``start:stop``).

        Args:
            rois (Tensor): Final RoIs (B, N, 4), ``x1y1x2y2`` in [0, 1].
            size (tuple[int, int]): ``(h, w)`` of the query map.
            start (int): First pixel (row-major index). Defaults to 0.
            stop (int, optional): One past the last pixel. Defaults to None (``h * w``).

        Returns:
            Tensor: (B, stop - start, N) float32, ``-s ((dx/w)^2 + (dy/h)^2) / 2``.
        """
        h, w = size
        stop = h * w if stop is None else stop
        rows, cols = self._axis_biases(rois, size)
        index = torch.arange(start, stop, device=rois.device)
        return rows[:, torch.div(index, w, rounding_mode='floor')] + cols[:, index % w]

    def _biases(self, keys: Tensor, rois: Tensor,
                size: Tuple[int, int]) -> Tuple[Optional[Tensor], Optional[Tensor]]:
        """``B_geo + B_pred`` as a row term (B, h, N) and a column term (B, w or 1, N)."""
        rows = cols = None
        if self.use_geometric_bias:
            rows, cols = self._axis_biases(rois, size)
        if self.use_predictive_bias:
            pred = self.pred_bias(keys.float()).float().transpose(1, 2)  # (B, 1, N)
            cols = pred if cols is None else cols + pred
        return rows, cols

    @staticmethod
    def _scores(query: Tensor, keys: Tensor, rows: Optional[Tensor], cols: Optional[Tensor],
                width: int) -> Tensor:
        """Biased scores (B, r*w, N) of the queries of ``r`` whole pixel rows.

        The biases are added in place through a (B, r, w, N) view: ``B_geo`` is a row term
        plus a column term, so no (pixels x tokens) bias tensor is ever built.
        """
        query, keys = query.float(), keys.float()
        scores = query @ (keys * keys.shape[-1] ** -0.5).transpose(1, 2)
        grid = scores.view(scores.shape[0], -1, width, scores.shape[-1])
        if rows is not None:
            grid.add_(rows[:, :, None])
        if cols is not None:
            grid.add_(cols[:, None])
        return scores

    def token_logits(self, tokens: Tensor) -> Tuple[Tensor, Tensor]:
        """Reduce, process and classify the latent tokens.

        Args:
            tokens (Tensor): Latent tokens (B, N, D), [CLS] already removed.

        Returns:
            tuple[Tensor, Tensor]: The ``channels``-wide normalised tokens (B, N, d) (the
            attention keys) and the token logits ``P_token`` (B, N, L).
        """
        t = self.token_reduce(tokens)
        for block in self.token_blocks:
            t = block(t)
        t = self.token_norm(t)
        return t, self.token_cls(self.dropout(t) if self.dropout is not None else t)

    def queries(self, feat: Tensor) -> Tensor:
        """Dense queries: (B, C, h, w) query map (``feat_map`` or ``feat_map_s2``) ->
        (B, d, h, w)."""
        return self.query_conv(feat)

    def attention(self, inputs: Sequence[Tensor]) -> Tensor:
        """The pixel-over-token attention of eq. (7) (for inspection; all pixels at once).

        Args:
            inputs (Sequence[Tensor]): Backbone outputs, see the class docstring.

        Returns:
            Tensor: (B, h*w, N) float32 attention weights; each row sums to 1.
        """
        feat, rois, tokens = self._split_inputs(inputs)
        keys, _ = self.token_logits(tokens)
        query = self.queries(feat)
        rows, cols = self._biases(keys, rois, query.shape[-2:])
        return self._scores(query.flatten(2).transpose(1, 2), keys, rows, cols,
                            query.shape[-1]).softmax(-1)

    # ------------------------------------------------------------------ mmseg contract
    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        """Dense logits at the early-conv resolution.

        Args:
            inputs (Sequence[Tensor]): Backbone outputs: ``feat_map`` (B, C, h, w),
                ``rois`` (B, R+1, N, 4), ``tokens`` (B, 1+N, D) (and ``feat_map_s2``
                (B, C, 2h, 2w) with ``query_scale=2``), picked by ``in_index``.

        Returns:
            Tensor: Logits (B, num_classes, h, w), float32 (``h = H/4``, ``w = W/4``; the
            stride-2 map's size with ``query_scale=2``).
        """
        feat, rois, tokens = self._split_inputs(inputs)
        keys, token_logits = self.token_logits(tokens)
        query = self.queries(feat)
        B, _, h, w = query.shape
        query = query.flatten(2).transpose(1, 2)
        values = token_logits.float()
        with torch.autocast(device_type=query.device.type, enabled=False):
            rows, cols = self._biases(keys, rois, (h, w))
            # whole pixel rows per chunk: at most attn_chunk_size pixels, at least one row
            step = h if not self.attn_chunk_size else max(1, self.attn_chunk_size // w)
            outs = []
            for r0 in range(0, h, step):
                r1 = min(r0 + step, h)
                scores = self._scores(query[:, r0 * w:r1 * w], keys,
                                      None if rows is None else rows[:, r0:r1], cols, w)
                outs.append(scores.softmax(-1) @ values)
            dense = torch.cat(outs, dim=1) if len(outs) > 1 else outs[0]
        return dense.transpose(1, 2).reshape(B, -1, h, w)


__all__: List[str] = ['RoILogitProjectionHead']
