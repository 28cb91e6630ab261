"""``sfmm.Runner``: mmengine's Runner with strict ``load_from`` / ``--resume`` (sfmm.weights)."""
from typing import Callable, Sequence, Tuple, Union

import torch

from mmengine.model import is_model_wrapper
from mmengine.runner import Runner as MMEngineRunner

from sfmm.registry import RUNNERS
from sfmm.weights import init_unsaved_parts, load_model_state, read_checkpoint


@RUNNERS.register_module()
class Runner(MMEngineRunner):
    """mmengine's ``Runner`` (0.10.7) whose checkpoints load strictly.

    mmengine loads ``load_from`` (``tools/test.py CONFIG CKPT``, fine-tuning) and resumes
    (``--resume``) with ``strict=False``, so a checkpoint that does not fit leaves layers at
    their random initialisation with only a log line. Here :meth:`load_checkpoint` reads the
    file with :func:`sfmm.weights.read_checkpoint` (safe ``weights_only`` load, a missing or
    corrupt file names itself) and loads it with :func:`sfmm.weights.load_model_state`: every
    model key must be present and no other allowed (a bootstrapper's teacher is never in a
    checkpoint and keeps its file weights). After loading (and in ``test`` / ``val``, where
    mmengine never calls ``init_weights``) the parts that checkpoints do not hold get their
    weights from their own files: :func:`sfmm.weights.init_unsaved_parts` (zero-shot class
    embeddings, a retriever's text tower).

    sfmm's runtime bases select it with ``runner_type = 'sfmm.Runner'``; ``tools/train.py``
    and ``tools/test.py`` build it through :func:`sfmm.utils.runner.build_runner`.
    """

    def _maybe_compile(self, target: str) -> None:
        """``compile=True`` (or a dict of ``torch.compile`` options): compile the model's forward.

        mmengine compiles the whole ``train_step``: data preprocessing, loss parsing and
        the optimizer's backward and step, which dynamo fails to trace in torch 2.14
        (``UserDefinedDictVariable`` in ``OptimWrapper.update_params``). sfmm compiles what
        benefits, the model's ``forward`` (for training: the student, the frozen teacher,
        the head and the losses), as timm's ``train.py`` does with
        ``torch.compile(model)``; the backward runs through the compiled graph's autograd
        and the rest of the step stays eager. Other targets follow mmengine.
        """
        compile_cfg = self.cfg.get('compile', None)
        if target != 'train_step' or compile_cfg is None or compile_cfg is False:
            return super()._maybe_compile(target)
        if not isinstance(compile_cfg, (bool, dict)):
            raise TypeError(f'compile must be a bool or a dict of torch.compile options, got '
                            f'{compile_cfg!r}')
        options = {} if compile_cfg is True else dict(compile_cfg)
        model = self.model.module if is_model_wrapper(self.model) else self.model
        if getattr(model, '_sfmm_compiled', False):
            return
        model.forward = torch.compile(model.forward, **options)
        model._sfmm_compiled = True
        self.logger.info(f'torch.compile({type(model).__name__}.forward, {options})')

    def load_checkpoint(self,
                        filename: str,
                        map_location: Union[str, Callable] = 'cpu',
                        strict: bool = True,
                        revise_keys: Sequence[Tuple[str, str]] = ((r'^module\.', ''), )
                        ) -> dict:
        """Load ``filename`` into the model strictly.

        Args:
            filename (str): Local path or URI.
            map_location (str | callable): Where tensors are loaded. Defaults to 'cpu'.
            strict (bool): Must be True (kept for mmengine's signature). Defaults to True.
            revise_keys (Sequence[tuple[str, str]]): ``(pattern, replacement)`` regexes
                applied to the keys. Defaults to stripping DDP's ``module.``.

        Returns:
            dict: The loaded checkpoint (``meta``, ``message_hub``, ``optimizer`` ...).

        Raises:
            ValueError: If ``strict`` is False.
            KeyError: If the checkpoint does not fit the model (naming the file and keys).
        """
        if not strict:
            raise ValueError('sfmm.Runner loads checkpoints strictly (strict=False refused)')
        checkpoint = read_checkpoint(filename, map_location=map_location, unwrap=False)
        # as mmengine's Runner: hooks may revise the checkpoint before it is loaded
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(self.model) else self.model
        load_model_state(model, checkpoint, str(filename), revise_keys)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename} (strict)')
        return checkpoint

    def load_or_resume(self) -> None:
        """Load or resume as mmengine does, then initialise the parts checkpoints never hold."""
        super().load_or_resume()
        init_unsaved_parts(self.model)


__all__ = ['Runner']
