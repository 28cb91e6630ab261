"""FLOP and parameter counting for the image path of a model, with fvcore.

Counting rules (also documented in ``tools/analysis_tools/get_flops.py`` and
``configs/classification/README.md``):

- fvcore counts one fused multiply-add as one FLOP: a ``Linear(i, o)`` on ``T`` tokens is
  ``T * i * o``, a convolution is ``out_elements * in_channels/groups * kh * kw`` (bias not
  counted), ``matmul``/``bmm``/``einsum`` are the products of their shapes.
- fvcore's own handles are kept: LayerNorm / GroupNorm count 5 FLOPs per element (4 without
  affine), bilinear ``grid_sampler`` 4 per output element, batch norm at inference 2 per element.
  Element-wise activations, softmax, additions and pooling are not counted (fvcore skips them).
- ``aten::scaled_dot_product_attention`` has no fvcore handle. With ``attention='count'`` it is
  counted as its two products, ``q @ k^T`` (``B*H*L*S*d``) and ``attn @ v`` (``B*H*L*S*d_v``),
  exactly what an explicit-matmul attention costs under fvcore, so both implementations give the
  same number. With ``attention='skip'`` it is left out, which is what plain fvcore does and
  what the reference figures of the released SparseFormers (SPEC) were measured with.
- The trace runs with PyTorch's ``nn.MultiheadAttention`` fast path disabled, so the fused
  kernel that fvcore cannot count (the MHA fast path of open_clip's towers) falls back to its
  plain ops. Count plain models: sfmm's layers call their ``nn.Linear`` modules, and the oneDNN
  kernels of :func:`sfmm.apis.optimize_for_inference` are an inference step applied after
  building, not part of the architecture.
- ``aten::baddbmm`` (the v1 SparseFormers' adaptive mixing with biases) has no fvcore handle
  either. With ``baddbmm='skip'`` (default) it is left out, as plain fvcore does and as the
  reference figures of the released v1 models were measured; ``baddbmm='count'`` counts it
  as the ``bmm`` it contains (``B*n*m*p``; the bias addition is free).
- Parameters are those of the image model: every registered parameter of the model (an sfmm
  zero-shot head keeps its text tower outside the module tree, so it is never counted).
"""
import inspect
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
from torch import nn

ATTENTION_MODES = ('count', 'skip')
BADDBMM_MODES = ('count', 'skip')
_SDPA_OP = 'aten::scaled_dot_product_attention'
_BADDBMM_OP = 'aten::baddbmm'


def _shape(value: Any) -> Optional[List[int]]:
    """Shape of a traced JIT value (None for non-tensors)."""
    if not value.isCompleteTensor():
        return None
    return value.type().sizes()


def sdpa_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
    """fvcore handle for ``aten::scaled_dot_product_attention``: ``q @ k^T`` plus ``attn @ v``.

    Args:
        inputs (list): traced JIT inputs ``(query, key, value, ...)`` with shapes
            ``(..., L, d)``, ``(..., S, d)`` and ``(..., S, d_v)``.
        outputs (list): traced JIT outputs (unused).

    Returns:
        int: ``batch * L * S * (d + d_v)`` where ``batch`` is the product of the leading dims.
    """
    q, k, v = (_shape(x) for x in inputs[:3])
    batch = 1
    for dim in q[:-2]:
        batch *= dim
    length, dim_qk = q[-2], q[-1]
    source = k[-2]
    return batch * length * source * (dim_qk + v[-1])


def baddbmm_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
    """fvcore handle for ``aten::baddbmm(bias, b1, b2)``: the batched product ``b1 @ b2``.

    Args:
        inputs (list): traced JIT inputs ``(bias, batch1 (n, c, t), batch2 (n, t, d), ...)``.
        outputs (list): traced JIT outputs (unused).

    Returns:
        int: ``n * c * t * d``, as fvcore counts ``bmm``.
    """
    b1, b2 = _shape(inputs[1]), _shape(inputs[2])
    return b1[0] * b1[1] * b1[2] * b2[2]


class ImagePath(nn.Module):
    """Runs the inference image path of a model: ``model(x, mode='tensor')`` for mmengine models.

    For an mmpretrain ``ImageClassifier`` this is backbone (+ neck) + head logits; for an sfmm
    zero-shot head it is the image embedding against cached class embeddings.

    Args:
        model (nn.Module): the model to wrap.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        try:
            self.takes_mode = 'mode' in inspect.signature(model.forward).parameters
        except (TypeError, ValueError):
            self.takes_mode = False

    def forward(self, inputs: torch.Tensor) -> Any:
        """Image batch ``(B, 3, H, W)`` -> what ``mode='tensor'`` returns."""
        return self.model(inputs, mode='tensor') if self.takes_mode else self.model(inputs)


def count_parameters(model: nn.Module) -> int:
    """Number of parameters of ``model`` (shared tensors counted once).

    Args:
        model (nn.Module): the model.

    Returns:
        int: parameter count.
    """
    return sum(p.numel() for p in model.parameters())


def count_flops(model: nn.Module, inputs: torch.Tensor, attention: str = 'count',
                extra_handles: Optional[Dict[str, Optional[Callable]]] = None,
                baddbmm: str = 'skip') -> Tuple[int, Dict[str, int]]:
    """Count the FLOPs of ``model(inputs)`` with fvcore and sfmm's handles.

    Args:
        model (nn.Module): a module whose ``forward`` takes the image batch (e.g.
            :class:`ImagePath`). It should be in eval mode.
        inputs (torch.Tensor): the input batch ``(B, 3, H, W)``.
        attention (str): ``'count'`` or ``'skip'`` for scaled-dot-product attention (see the
            module docstring). Defaults to ``'count'``.
        extra_handles (dict, optional): more ``{op_name: handle or None}`` for fvcore.
            Defaults to None.
        baddbmm (str): ``'skip'`` or ``'count'`` for ``aten::baddbmm`` (see the module
            docstring). Defaults to ``'skip'``.

    Returns:
        tuple[int, dict]: total FLOPs, and ``{op_name: number of calls}`` of the ops fvcore
        skipped (no handle).
    """
    from fvcore.nn import FlopCountAnalysis

    if attention not in ATTENTION_MODES:
        raise ValueError(f'attention must be one of {ATTENTION_MODES}, got {attention!r}')
    if baddbmm not in BADDBMM_MODES:
        raise ValueError(f'baddbmm must be one of {BADDBMM_MODES}, got {baddbmm!r}')
    analysis = FlopCountAnalysis(model, (inputs, ))
    analysis.set_op_handle(_SDPA_OP, sdpa_flop_jit if attention == 'count' else None)
    if baddbmm == 'count':
        analysis.set_op_handle(_BADDBMM_OP, baddbmm_flop_jit)
    for name, handle in (extra_handles or {}).items():
        analysis.set_op_handle(name, handle)
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    analysis.tracer_warnings('none')
    # nn.MultiheadAttention's fused fast path (aten::_native_multi_head_attention, e.g. in
    # open_clip's towers) has no fvcore handle: with the fast path off the module runs its
    # plain ops instead (same maths), which the handles above count.
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        total = int(analysis.total())
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
    return total, dict(analysis.unsupported_ops())


def image_flops_params(model: nn.Module, shape: Sequence[int] = (224, 224),
                       attention: str = 'count', batch_size: int = 1,
                       baddbmm: str = 'skip') -> Tuple[int, int, Dict[str, int]]:
    """FLOPs (per image) and parameters of a model's image path at ``shape``.

    Args:
        model (nn.Module): the model (an mmengine ``BaseModel`` or a plain module).
        shape (Sequence[int]): input ``(H, W)``. Defaults to ``(224, 224)``.
        attention (str): ``'count'`` or ``'skip'``. Defaults to ``'count'``.
        batch_size (int): images traced at once; the FLOPs are divided by it. Defaults to 1.
        baddbmm (str): ``'skip'`` or ``'count'``. Defaults to ``'skip'``.

    Returns:
        tuple[int, int, dict]: FLOPs per image, parameters, skipped ops.
    """
    model.eval()
    param = next(iter(model.parameters()), None)
    device = param.device if param is not None else torch.device('cpu')
    inputs = torch.randn(batch_size, 3, int(shape[0]), int(shape[1]), device=device)
    flops, skipped = count_flops(ImagePath(model), inputs, attention=attention,
                                 baddbmm=baddbmm)
    return flops // batch_size, count_parameters(model), skipped
