"""ONNX export of sfmm image models, and ONNX Runtime inference with the same call as eager.

Example::

    from sfmm.deployment import OnnxRuntimeModule, build_export_model, export_onnx
    model = build_export_model('configs/classification/sf-b_augreg_in1k.py', 'sf-b.pth')
    export_onnx(model, torch.randn(1, 3, 224, 224), 'sf-b.onnx', dynamic_batch=True)
    logits = OnnxRuntimeModule('sf-b.onnx', num_threads=2)(torch.randn(4, 3, 224, 224))

What is exported is a model's inference image path on an already *normalised* batch
``(B, 3, H, W)`` (what the data preprocessor outputs: mean/std, BGR->RGB), as
:class:`sfmm.utils.flops.ImagePath` runs it; preprocessing stays outside the graph:

- ``'classifier'`` (an mmpretrain ``ImageClassifier``): one output, the logits ``(B, K)``.
- ``'zero-shot'`` (an ``ImageClassifier`` with :class:`sfmm.models.heads.ZeroShotClsHead`,
  e.g. configs/classification/sf-b_clip_in1k-zeroshot.py): the image tower only. The output
  is the logits ``(B, K)`` = ``logit_scale * normalize(image_embedding) @ class_emb.T``
  against the head's cached class embeddings, which the graph holds as a constant
  ``(K, E)`` tensor; the CLIP text tower is never exported (it is not in the module tree).
  With ``with_embedding=True`` a second output, the L2-normalised image embedding
  ``(B, E)``, is added (``output_names=('logits', 'embedding')``), e.g. for other class
  sets or retrieval against embeddings computed elsewhere.
- ``'segmenter'`` (an mmseg ``EncoderDecoder``): the decode head's logits resized to the
  input ``(H, W)`` with bilinear interpolation (the head's ``align_corners``), as mmseg's
  whole-image inference does (``predict_by_feat``), so ``argmax(1)`` is the mask
  ``(B, H, W)``. A config whose ``test_cfg`` uses ``mode='slide'`` is still exported as one
  whole-image pass at the exported size (sliding windows are not part of the graph).

Export details (measured with torch 2.14, onnxscript 0.7.2, onnxruntime 1.32):

- Only the ``torch.export``-based exporter is used (``dynamo=True``): the legacy
  TorchScript exporter fails on a shape ``Gather`` in sfmm/models/layers/early_conv.py.
- The opset is 18 or newer (:data:`MIN_OPSET`, the default 18): the exporter implements
  opset 18 and up only and down-converts otherwise, and the 18 -> 17/16 conversion leaves
  opset-18 attributes (``noop_with_empty_axes`` on ``ReduceMean``/``ReduceProd``), so
  ``onnx.checker`` and ONNX Runtime reject the file.
- SparseFormer's bilinear sampling is exported as one ``Gather`` of channel rows from a
  channels-last map (:func:`sfmm.models.layers.gather_sample_points`), not as ``GridSample``
  (opset >= 16): with ONNX Runtime's ``GridSample`` kernel, SF-B / ViT-B both in ONNX Runtime
  was 4.41x at batch 8, and 4.63x with the gather.
  Eager PyTorch keeps ``grid_sample``; the two agree up to float rounding.
- ``dynamic_batch`` makes dimension 0 symbolic (``torch.export.Dim``); H and W stay fixed.
- :class:`sfmm.apis.InferenceLinear` (from ``optimize_for_inference``, which ``init_model``
  applies) runs ``F.linear`` while being exported, so optimised models export as plain ones.
- Weights are stored inside the ``.onnx`` file; only models over about 1.9 GiB of weights
  get an external data file next to it (``<out>.data``, ONNX's 2 GiB protobuf limit).
"""
import contextlib
import importlib
import logging
import os
import os.path as osp
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

Tensor = torch.Tensor

#: The lowest opset exported (see the module docstring for 16 and 17).
MIN_OPSET = 18
#: Task names of :func:`wrap_for_export` / :func:`build_export_model`.
TASKS = ('auto', 'classifier', 'zero-shot', 'segmenter')
#: Graph input name.
INPUT_NAME = 'input'
# weights above this are written to an external data file (protobuf's 2 GiB limit)
_EXTERNAL_DATA_BYTES = int(1.9 * 2**30)
# loggers whose INFO/WARNING lines are the exporter's progress chatter (e.g. onnxscript's
# "Skipping constant folding for op LayerNormalization with multiple outputs.")
_CHATTY_LOGGERS = ('onnxscript', 'torch.onnx', 'torch.export', 'torch._export')


def _require(package: str, purpose: str) -> Any:
    """Import ``package`` or say which requirements file installs it."""
    try:
        return importlib.import_module(package)
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(f'{purpose} needs the {package} package: pip install -r '
                          'requirements/deploy.txt') from e


def _import_onnx() -> Any:
    return _require('onnx', 'ONNX export')


def _import_ort() -> Any:
    return _require('onnxruntime', 'ONNX Runtime inference')


# ----------------------------------------------------------------------------- wrappers
class _ZeroShotImageTower(nn.Module):
    """Image tower of a zero-shot classifier: ``(logits (B, K), embedding (B, E))``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, inputs: Tensor) -> Tuple[Tensor, Tensor]:
        """Normalised batch (B, 3, H, W) -> logits (B, K) and L2-normalised embedding (B, E)."""
        feats = self.model.extract_feat(inputs)
        head = self.model.head
        return head(feats), head.pre_logits(feats)


class _SegmenterLogits(nn.Module):
    """Decode-head logits of an mmseg segmentor, resized to the input size: (B, K, H, W)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.align_corners = bool(getattr(model.decode_head, 'align_corners', False))

    def forward(self, inputs: Tensor) -> Tensor:
        """Normalised batch (B, 3, H, W) -> logits (B, K, H, W) (bilinear, as mmseg)."""
        logits = self.model(inputs, mode='tensor')
        return F.interpolate(logits, size=inputs.shape[-2:], mode='bilinear',
                             align_corners=self.align_corners)


def detect_task(model: nn.Module) -> str:
    """The export task of a built model: ``'segmenter'``, ``'zero-shot'`` or ``'classifier'``.

    Args:
        model (nn.Module): A built mmseg segmentor (has ``decode_head``) or mmpretrain
            classifier (has ``backbone`` and ``head``; a head with ``set_class_embeddings``,
            such as ``ZeroShotClsHead``, makes it zero-shot).

    Returns:
        str: The task.
    """
    if getattr(model, 'decode_head', None) is not None:
        return 'segmenter'
    head = getattr(model, 'head', None)
    if getattr(model, 'backbone', None) is not None and head is not None:
        return 'zero-shot' if hasattr(head, 'set_class_embeddings') else 'classifier'
    raise ValueError(f'cannot export a {type(model).__name__}: expected an mmseg segmentor '
                     '(with decode_head) or an mmpretrain classifier (with backbone and head)')


def wrap_for_export(model: nn.Module, task: str = 'auto',
                    with_embedding: bool = False) -> nn.Module:
    """Wrap a built model (in eval mode) as a module ``batch (B, 3, H, W) -> outputs``.

    Use it on models built another way than :func:`build_export_model` (e.g.
    :func:`sfmm.utils.model_builder.build_model_from_cfg` for speed-only exports).

    Args:
        model (nn.Module): The built model.
        task (str): One of :data:`TASKS`; ``'auto'`` uses :func:`detect_task`, any other must
            equal what it detects. Defaults to 'auto'.
        with_embedding (bool): For ``'zero-shot'``, return ``(logits, embedding)``
            instead of the logits. Defaults to False.

    Returns:
        nn.Module: The exportable module (see the module docstring for its outputs), with
        attributes ``task`` and ``output_names`` (the names :func:`export_onnx` should get).
    """
    if task not in TASKS:
        raise ValueError(f'task must be one of {TASKS}, got {task!r}')
    detected = detect_task(model)
    if task != 'auto' and task != detected:
        raise ValueError(f'task {task!r} does not fit the {type(model).__name__} '
                         f'(head {type(getattr(model, "head", None)).__name__}): it is a '
                         f'{detected!r} model')
    if with_embedding and detected != 'zero-shot':
        raise ValueError(f'with_embedding applies to zero-shot models only, got a {detected!r}')
    from sfmm.utils.flops import ImagePath
    if detected == 'segmenter':
        wrapped: nn.Module = _SegmenterLogits(model)
        names: Tuple[str, ...] = ('logits', )
    elif detected == 'zero-shot':
        embeddings = getattr(model.head, 'class_embeddings', None)
        if embeddings is None or embeddings.numel() == 0:
            raise ValueError(f'the {type(model.head).__name__} has no class embeddings to '
                             'export: build the model with its text tower weights '
                             '(init_model) or call head.set_class_embeddings() first')
        wrapped = _ZeroShotImageTower(model) if with_embedding else ImagePath(model)
        names = ('logits', 'embedding') if with_embedding else ('logits', )
    else:
        wrapped = ImagePath(model)
        names = ('logits', )
    wrapped.task = detected
    wrapped.output_names = names
    wrapped.training = model.training  # the wrapper's own flag only; the model keeps its modes
    return wrapped


def build_export_model(config: Any, checkpoint: Optional[str] = None, task: str = 'auto',
                       cfg_options: Optional[dict] = None,
                       with_embedding: bool = False) -> nn.Module:
    """Build a config's model with :func:`sfmm.apis.init_model` and wrap it for export.

    Args:
        config (str | mmengine.Config): A classification, zero-shot or segmentation config.
        checkpoint (str, optional): Loaded strictly by ``init_model`` (every key matched).
            Defaults to None: the config's own initialisation, whose ``init_cfg`` files are
            read (override them with ``cfg_options``, e.g. ``{'model.backbone.init_cfg':
            None}``). A zero-shot head always reads its text tower file to encode the class
            embeddings baked into the graph.
        task (str): One of :data:`TASKS`. Defaults to 'auto'.
        cfg_options (dict, optional): Overrides merged into the config. Defaults to None.
        with_embedding (bool): See :func:`wrap_for_export`. Defaults to False.

    Returns:
        nn.Module: The exportable module on CPU, in eval mode, with ``task`` and
        ``output_names`` attributes.
    """
    if task not in TASKS:
        raise ValueError(f'task must be one of {TASKS}, got {task!r}')
    if isinstance(config, str) and not osp.isfile(config):
        raise FileNotFoundError(f'config file not found: {config}')
    if checkpoint is not None and not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint file not found: {checkpoint}')
    from sfmm.apis import init_model
    model = init_model(config, checkpoint, device='cpu', cfg_options=cfg_options)
    return wrap_for_export(model.eval(), task, with_embedding)


# ----------------------------------------------------------------------------- export
def check_opset(opset: int) -> int:
    """Validate an ONNX opset for export; returns it as an int.

    Args:
        opset (int): The requested default-domain opset.

    Returns:
        int: ``opset``, if ``MIN_OPSET <= opset <=`` the installed onnx's newest opset.
    """
    if isinstance(opset, bool) or not isinstance(opset, int):
        raise TypeError(f'opset must be an int, got {opset!r}')
    if opset < MIN_OPSET:
        raise ValueError(f'opset {opset} is not supported: torch\'s ONNX exporter (dynamo) '
                         f'implements opset >= {MIN_OPSET} only, and its down-conversion to '
                         f'{opset} leaves opset-18 attributes (noop_with_empty_axes on '
                         'ReduceMean/ReduceProd) that onnx.checker and ONNX Runtime reject; '
                         f'use opset {MIN_OPSET} (the default) or newer')
    newest = _import_onnx().defs.onnx_opset_version()
    if opset > newest:
        raise ValueError(f'opset {opset} is newer than the installed onnx supports ({newest})')
    return opset


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Raise the exporter's loggers to ERROR for the duration (errors still propagate)."""
    loggers = [logging.getLogger(name) for name in _CHATTY_LOGGERS]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _as_tuple(outputs: Any, what: str) -> Tuple[Tensor, ...]:
    outs = tuple(outputs) if isinstance(outputs, (tuple, list)) else (outputs, )
    bad = [type(o).__name__ for o in outs if not isinstance(o, Tensor)]
    if not outs or bad:
        raise TypeError(f'{what} must return a Tensor or a tuple of Tensors, got '
                        f'{type(outputs).__name__}' + (f' holding {bad}' if bad else ''))
    return outs


def _state(model: nn.Module) -> Dict[str, Tensor]:
    named = list(model.named_parameters()) + list(model.named_buffers())
    return {name: t.detach().clone() for name, t in named}


def export_onnx(model: nn.Module, inputs: Tensor, out: str, dynamic_batch: bool = False,
                opset: int = 18, output_names: Sequence[str] = ('output', )) -> str:
    """Export ``model(inputs)`` to an ONNX file, check it with ``onnx.checker``.

    The model runs once eagerly (to validate its outputs), then is exported with
    ``torch.onnx.export(..., dynamo=True)``. The graph input is named ``'input'``. Its
    parameters, buffers and train/eval modes are the same afterwards (checked).

    Args:
        model (nn.Module): In eval mode (every submodule); ``forward`` takes one image batch
            ``(B, 3, H, W)`` and returns a Tensor or a tuple of Tensors (e.g. from
            :func:`wrap_for_export`, whose ``output_names`` attribute gives the names).
        inputs (Tensor): An example batch ``(B, 3, H, W)``, floating point, on the model's
            device. H and W are fixed in the graph.
        out (str): The ``.onnx`` file to write (its folder is created).
        dynamic_batch (bool): Make the batch dimension symbolic, so any batch size runs.
            A batch of 1 is then traced as 2 copies (torch.export specialises size-1
            dimensions). Defaults to False.
        opset (int): The ONNX opset, >= :data:`MIN_OPSET` (:func:`check_opset`).
            Defaults to 18.
        output_names (Sequence[str]): One name per output. Defaults to ('output', ).

    Returns:
        str: ``out``.
    """
    onnx = _import_onnx()
    check_opset(opset)
    if not isinstance(model, nn.Module):
        raise TypeError(f'model must be an nn.Module, got {type(model).__name__}')
    if not isinstance(inputs, Tensor) or inputs.ndim != 4 or inputs.shape[1] != 3 \
            or not inputs.is_floating_point():
        desc = (f'{tuple(inputs.shape)} {inputs.dtype}' if isinstance(inputs, Tensor)
                else type(inputs).__name__)
        raise ValueError(f'inputs must be a floating-point image batch (B, 3, H, W), got {desc}')
    training = [name or type(model).__name__ for name, m in model.named_modules() if m.training]
    if training:
        raise ValueError(f'export_onnx needs a model in eval mode; in training mode: '
                         f'{training[:5]}{" ..." if len(training) > 5 else ""} (call '
                         'model.eval() first)')
    names = list(output_names) if not isinstance(output_names, str) else [output_names]
    if not names or len(set(names)) != len(names) or INPUT_NAME in names \
            or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f'output_names must be distinct non-empty strings other than '
                         f'{INPUT_NAME!r}, got {list(output_names)!r}')
    with torch.no_grad():
        eager = _as_tuple(model(inputs), type(model).__name__)
    if len(eager) != len(names):
        raise ValueError(f'{type(model).__name__} returns {len(eager)} output(s) but '
                         f'output_names has {len(names)}: {names}')

    example = inputs
    dynamic_shapes = None
    if dynamic_batch:
        if inputs.shape[0] == 1:
            example = inputs.expand(2, -1, -1, -1).contiguous()
        dynamic_shapes = ({0: torch.export.Dim('batch', min=1)}, )
    weight_bytes = sum(t.numel() * t.element_size()
                       for t in list(model.parameters()) + list(model.buffers()))
    folder = osp.dirname(osp.abspath(out))
    os.makedirs(folder, exist_ok=True)

    before = _state(model)
    with _quiet_exporter(), torch.no_grad():
        try:
            torch.onnx.export(model, (example, ), out, dynamo=True, opset_version=opset,
                              verbose=False, report=False, input_names=[INPUT_NAME],
                              output_names=names, dynamic_shapes=dynamic_shapes,
                              external_data=weight_bytes > _EXTERNAL_DATA_BYTES)
        except Exception as e:
            raise RuntimeError(f'ONNX export of {type(model).__name__} to {out} failed '
                               f'(opset {opset}, dynamic_batch={dynamic_batch}): '
                               f'{type(e).__name__}: {e}') from e
    after = _state(model)
    changed = [k for k in before if k not in after or not torch.equal(before[k], after[k])]
    still_training = [name for name, m in model.named_modules() if m.training]
    if changed or still_training or len(after) != len(before):
        raise RuntimeError(f'ONNX export changed the model: tensors {changed[:5]}, modules '
                           f'back in training mode {still_training[:5]}')

    if not osp.isfile(out):
        raise RuntimeError(f'ONNX export reported success but wrote no file at {out}')
    onnx.checker.check_model(out)
    proto = onnx.load(out, load_external_data=False)
    found = {o.domain or 'ai.onnx': o.version for o in proto.opset_import}
    if found.get('ai.onnx') != opset:
        raise RuntimeError(f'{out} has opset {found.get("ai.onnx")}, {opset} was requested')
    graph_outputs = [o.name for o in proto.graph.output]
    if graph_outputs != names:
        raise RuntimeError(f'{out} has outputs {graph_outputs}, expected {names}')
    return out


# ----------------------------------------------------------------------------- runtime
_ORT_TYPES = {'tensor(float)': torch.float32, 'tensor(double)': torch.float64,
              'tensor(float16)': torch.float16}


class OnnxRuntimeModule(nn.Module):
    """An ONNX image model run by ONNX Runtime on CPU, called like the eager model.

    Args:
        path (str): The ``.onnx`` file (e.g. from :func:`export_onnx`), with a single
            floating-point input.
        num_threads (int, optional): ``intra_op_num_threads`` of the session (threads of
            one operator); None lets ONNX Runtime choose (all physical cores). Operators
            run one at a time (``inter_op_num_threads=1``, sequential execution).
            Defaults to None.
    """

    def __init__(self, path: str, num_threads: Optional[int] = None) -> None:
        super().__init__()
        ort = _import_ort()
        if not isinstance(path, (str, os.PathLike)) or not osp.isfile(path):
            raise FileNotFoundError(f'ONNX model file not found: {path}')
        if num_threads is not None and (isinstance(num_threads, bool)
                                        or not isinstance(num_threads, int) or num_threads < 1):
            raise ValueError(f'num_threads must be a positive int or None, got {num_threads!r}')
        self.path = str(path)
        self.num_threads = num_threads
        options = ort.SessionOptions()
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        if num_threads is not None:
            options.intra_op_num_threads = num_threads
        options.log_severity_level = 3  # errors only
        try:
            self.session = ort.InferenceSession(self.path, sess_options=options,
                                                providers=['CPUExecutionProvider'])
        except Exception as e:
            raise ValueError(f'{self.path}: ONNX Runtime cannot load it as an ONNX model '
                             f'(missing or corrupt file?): {type(e).__name__}: {e}') from e
        graph_inputs = self.session.get_inputs()
        if len(graph_inputs) != 1:
            raise ValueError(f'{self.path}: expected one graph input, got '
                             f'{[i.name for i in graph_inputs]}')
        self.input_name = graph_inputs[0].name
        self.input_shape = list(graph_inputs[0].shape)
        if graph_inputs[0].type not in _ORT_TYPES:
            raise ValueError(f'{self.path}: input {self.input_name!r} has type '
                             f'{graph_inputs[0].type}, expected one of {sorted(_ORT_TYPES)}')
        self.input_dtype = _ORT_TYPES[graph_inputs[0].type]
        self.output_names = [o.name for o in self.session.get_outputs()]

    def extra_repr(self) -> str:
        return f'path={self.path!r}, num_threads={self.num_threads}'

    def forward(self, x: Tensor) -> Union[Tensor, Tuple[Tensor, ...]]:
        """Batch ``x`` (B, 3, H, W) -> the graph's output(s) as CPU Tensors.

        Returns:
            Tensor | tuple[Tensor]: One Tensor, or a tuple for several outputs.
        """
        if not isinstance(x, Tensor):
            raise TypeError(f'{self.path}: expected a Tensor input, got {type(x).__name__}')
        array = x.detach().to('cpu', self.input_dtype).contiguous().numpy()
        try:
            outs = self.session.run(None, {self.input_name: array})
        except Exception as e:
            raise RuntimeError(f'{self.path}: ONNX Runtime failed on an input of shape '
                               f'{tuple(x.shape)} (graph input {self.input_shape}): '
                               f'{type(e).__name__}: {e}') from e
        tensors = tuple(torch.from_numpy(o) for o in outs)
        return tensors[0] if len(tensors) == 1 else tensors


# ----------------------------------------------------------------------------- checks
def compare_outputs(reference: Any, candidate: Any, masks: bool = False,
                    tie_tol: float = 1e-4) -> Dict[str, Any]:
    """Compare outputs of two runs (e.g. PyTorch and ONNX Runtime) of the same model.

    The relative error of one output is ``max|candidate - reference| / max|reference|``
    (relative to the reference's largest magnitude: an element-wise ratio blows up near 0).

    Args:
        reference (Tensor | tuple[Tensor]): The reference outputs.
        candidate (Tensor | tuple[Tensor]): The outputs to check, same structure and shapes.
        masks (bool): Also compare ``argmax(1)`` of the first output (segmentation logits
            ``(B, K, H, W)``). Defaults to False.
        tie_tol (float): With ``masks``, a differing pixel is a near tie when the reference's
            logits of the two predicted classes differ by at most ``tie_tol * max|reference|``
            (rounding may flip it). Defaults to 1e-4.

    Returns:
        dict: ``max_rel_error`` (float, over all outputs), ``rel_errors`` (list, per output)
        and, with ``masks``, ``mask_equal`` (bool), ``mask_mismatch`` (differing pixels)
        and ``mask_mismatch_beyond_ties`` (those that are not near ties).
    """
    ref = _as_tuple(reference, 'reference')
    cand = _as_tuple(candidate, 'candidate')
    if len(ref) != len(cand):
        raise ValueError(f'{len(ref)} reference outputs vs {len(cand)} candidate outputs')
    errors: List[float] = []
    for k, (r, c) in enumerate(zip(ref, cand)):
        if tuple(r.shape) != tuple(c.shape):
            raise ValueError(f'output {k}: reference shape {tuple(r.shape)}, candidate '
                             f'{tuple(c.shape)}')
        r64, c64 = r.detach().cpu().double(), c.detach().cpu().double()
        scale = float(r64.abs().max()) if r64.numel() else 0.
        diff = float((c64 - r64).abs().max()) if r64.numel() else 0.
        errors.append(diff / scale if scale > 0 else diff)
    result: Dict[str, Any] = dict(max_rel_error=max(errors), rel_errors=errors)
    if masks:
        r, c = ref[0].detach().cpu().double(), cand[0].detach().cpu().double()
        if r.ndim != 4:
            raise ValueError(f'masks need (B, K, H, W) logits, got {tuple(r.shape)}')
        mask_r, mask_c = r.argmax(1), c.argmax(1)
        differ = mask_r != mask_c
        gap = (r.gather(1, mask_r[:, None]) - r.gather(1, mask_c[:, None]))[:, 0].abs()
        beyond = differ & (gap > tie_tol * float(r.abs().max()))
        result.update(mask_equal=not bool(differ.any()), mask_mismatch=int(differ.sum()),
                      mask_mismatch_beyond_ties=int(beyond.sum()))
    return result


__all__ = ['MIN_OPSET', 'TASKS', 'OnnxRuntimeModule', 'build_export_model', 'check_opset',
           'compare_outputs', 'detect_task', 'export_onnx', 'wrap_for_export']
