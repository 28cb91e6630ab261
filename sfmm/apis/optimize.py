"""An explicit inference transformation of a built model: oneDNN Linear kernels on CPU.

sfmm's layers call their ``nn.Linear`` modules plainly, so hooks, wrappers (LoRA,
quantisation) and FLOP counters see every layer. :func:`optimize_for_inference` is the
step that makes CPU inference faster, applied by the inference paths (``init_model``,
``tools/analysis_tools/benchmark.py``): it swaps every ``nn.Linear`` for an
:class:`InferenceLinear` that shares its parameters and, for float32 CPU inference without
autograd or autocast, runs oneDNN's ``mkldnn::_linear_pointwise`` (bias inside the kernel;
about 8% more SF-B throughput than ``aten::linear`` on 2 CPU threads). Anywhere else
(training, autograd, autocast, GPUs, other dtypes, PyTorch builds without oneDNN) it runs
``F.linear``, as ``nn.Linear`` does. With ``prepack`` (the default) each layer also keeps its
weight reordered into oneDNN's blocked layout (``mkldnn::_reorder_linear_weight``, as
``torch.compile``'s CPU freezing does): about 4% more, for one more copy of the Linear
weights in memory (``prepack=False`` to avoid it). Compare ``fuse_conv_bn`` in mmcv or
``reparameterize`` in timm.

Measured on SF-B (batch 8, 2 and 1 threads) and left out: oneDNN's GELU epilogue fused into
the first MLP Linear was 2% slower than oneDNN's Linear followed by ``F.gelu``, and fusing the
residual additions into the cortex's output projections gained nothing measurable (-2% to
+3%).
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

Tensor = torch.Tensor

_MKLDNN = getattr(torch.ops, 'mkldnn', None)
_LINEAR_POINTWISE = getattr(_MKLDNN, '_linear_pointwise', None) if _MKLDNN is not None else None
_REORDER_WEIGHT = getattr(_MKLDNN, '_reorder_linear_weight', None) if _MKLDNN is not None else None


def _autocast_cpu() -> bool:
    try:
        return torch.is_autocast_enabled('cpu')
    except TypeError:  # torch < 2.4
        return torch.is_autocast_cpu_enabled()


def _tracing() -> bool:
    """Whether a tracer records the model: TorchScript / fvcore (``torch.jit.trace``), ONNX
    export, ``torch.compile`` / ``torch.export``. They get ``F.linear``, which they know."""
    is_compiling = getattr(getattr(torch, 'compiler', None), 'is_compiling', None)
    # is_compiling first: dynamo folds it to True, and never traces into the other checks
    # (it would break the graph at each of them)
    return ((is_compiling is not None and is_compiling()) or torch.jit.is_tracing()
            or torch.onnx.is_in_onnx_export())


def onednn_linear_available() -> bool:
    """Whether this PyTorch build has oneDNN's fused Linear (``mkldnn::_linear_pointwise``)."""
    return _LINEAR_POINTWISE is not None and torch.backends.mkldnn.is_available()


class InferenceLinear(nn.Linear):
    """``nn.Linear`` that runs oneDNN's Linear kernel for float32 CPU inference.

    Built from an ``nn.Linear`` by :meth:`from_linear`, sharing its parameters: the state
    dict (keys and tensors) is the same. The oneDNN kernel runs when the input and weight
    are float32 on CPU, autograd is off (``torch.no_grad`` / ``torch.inference_mode``), CPU
    autocast is off and no tracer is recording (TorchScript, fvcore, ONNX export,
    ``torch.compile``); otherwise ``F.linear`` runs, exactly as in ``nn.Linear``. Outputs
    equal ``nn.Linear``'s up to float rounding.

    With :attr:`prepack`, the kernel reads a copy of the weight in oneDNN's blocked layout,
    made on the first fused call and again whenever the weight changes (in-place updates,
    ``load_state_dict``, a new tensor). The copy is not part of the state dict, and copying
    or pickling the module drops it.
    """

    #: Whether the fused kernel reads a weight copy in oneDNN's blocked layout.
    prepack: bool = False
    _packed: Optional[Tensor] = None
    _packed_key: Optional[tuple] = None

    @classmethod
    def from_linear(cls, linear: nn.Linear, prepack: bool = False) -> 'InferenceLinear':
        """An :class:`InferenceLinear` sharing ``linear``'s weight and bias Parameters.

        Args:
            linear (nn.Linear): The layer.
            prepack (bool): Keep a blocked-layout copy of the weight for the fused kernel
                (:attr:`prepack`). Defaults to False.

        Returns:
            InferenceLinear: A new module in ``linear``'s train/eval mode.
        """
        new = cls(linear.in_features, linear.out_features, bias=linear.bias is not None,
                  device='meta')
        new.weight = linear.weight
        if linear.bias is not None:
            new.bias = linear.bias
        new.prepack = bool(prepack) and _REORDER_WEIGHT is not None
        return new.train(linear.training)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state.pop('_packed', None)  # an opaque oneDNN tensor: neither copied nor pickled
        state.pop('_packed_key', None)
        return state

    def _kernel_weight(self, rows: int) -> Tensor:
        if not self.prepack:
            return self.weight
        weight = self.weight
        key = (weight.data_ptr(), weight._version, tuple(weight.shape))
        if self._packed is None or self._packed_key != key:
            self._packed = _REORDER_WEIGHT(weight.detach(), rows)
            self._packed_key = key
        return self._packed

    def _fusable(self, x: Tensor) -> bool:
        return (not _tracing() and x.device.type == 'cpu' and x.dtype == torch.float32
                and self.weight.dtype == torch.float32 and not torch.is_grad_enabled()
                and not _autocast_cpu() and onednn_linear_available())

    def forward(self, x: Tensor) -> Tensor:
        """``x @ weight.T + bias``: (..., in_features) -> (..., out_features)."""
        if not self._fusable(x):
            return F.linear(x, self.weight, self.bias)
        x2 = x.reshape(-1, self.in_features)
        out = _LINEAR_POINTWISE(x2, self._kernel_weight(x2.shape[0]), self.bias, 'none', [], '')
        return out.view(*x.shape[:-1], self.out_features)


def optimize_for_inference(model: nn.Module, prepack: bool = True) -> nn.Module:
    """Swap every plain ``nn.Linear`` of ``model`` for an :class:`InferenceLinear`, in place.

    Parameters are shared, so ``state_dict()`` keys and values, ``parameters()`` and the
    outputs (up to float rounding) stay as they are; training and autograd keep working
    (they take ``F.linear``). Only modules of type exactly ``nn.Linear`` are swapped:
    subclasses and wrappers (LoRA, quantised layers, ``nn.MultiheadAttention``'s output
    projection) are left alone, and calling it again changes nothing. Hooks registered on a
    swapped ``nn.Linear`` stay on the old module (register them after this call). Without
    oneDNN (:func:`onednn_linear_available` is False) the model is returned unchanged.

    Args:
        model (nn.Module): A built model (any ``nn.Module``).
        prepack (bool): Let every swapped layer keep its weight in oneDNN's blocked layout
            too (:attr:`InferenceLinear.prepack`): faster, one more copy of the Linear
            weights in memory. Defaults to True.

    Returns:
        nn.Module: ``model`` itself.
    """
    if not onednn_linear_available():
        return model
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is nn.Linear:
                setattr(parent, name, InferenceLinear.from_linear(child, prepack))
    return model


__all__ = ['InferenceLinear', 'onednn_linear_available', 'optimize_for_inference']
