"""Common behaviour of the frozen foundation-model teachers used for bootstrapping."""
import os
from abc import ABCMeta, abstractmethod
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule

from sfmm.utils.checkpoint import load_checkpoint_file

Tensor = torch.Tensor
# Wrapper keys under which training frameworks nest a state dict.
_WRAPPER_KEYS = ('state_dict', 'model', 'module')


class BaseTeacher(BaseModule, metaclass=ABCMeta):
    """A frozen teacher: always in eval mode, no gradients, weights from one local file.

    Subclasses build their network in ``__init__`` (no file access) and call
    :meth:`freeze`; the weights are read in :meth:`init_weights`, which mmengine's runner
    calls before training. Nothing is ever downloaded: a missing file raises
    ``FileNotFoundError`` naming the path and where the weights can be obtained.

    The teacher runs in whatever autocast context the caller opened, under
    :func:`torch.no_grad` (not inference mode, whose tensors could not be saved by the
    student's loss for backward).

    Input normalisation: the student and the teacher may expect different mean/std. The
    caller tells the teacher how its input was normalised (:meth:`set_input_normalization`,
    done by :class:`~sfmm.models.algorithms.Bootstrapper` from its data preprocessor) and the
    teacher re-normalises to its own ``mean``/``std``. Inputs whose size differs from the
    teacher's ``input_size`` are resized (bilinear, antialiased) before the teacher sees them.

    Args:
        checkpoint (str): Path of the local weight file.
        mean (Sequence[float]): Per-channel mean the teacher was trained with (0-255 scale).
        std (Sequence[float]): Per-channel std the teacher was trained with (0-255 scale).
        input_size (int, optional): Square input size the teacher runs at. None means the
            network's native size. Defaults to None.
        init_cfg (dict, optional): Unused (weights come from ``checkpoint``); kept for the
            mmengine ``BaseModule`` contract. Defaults to None.
    """

    #: Key layout of :meth:`inheritable_state_dict` (see ``sfmm.models.utils.inherit``).
    layout: str = ''
    #: A hint on where the weights come from, used in the missing-file error.
    how_to_obtain: str = ''

    def __init__(self,
                 checkpoint: str,
                 mean: Sequence[float],
                 std: Sequence[float],
                 input_size: Optional[int] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not checkpoint:
            raise ValueError(f'{type(self).__name__} needs a checkpoint path')
        self.checkpoint = str(checkpoint)
        self.input_size = input_size
        self.register_buffer('_mean', torch.tensor(mean, dtype=torch.float).view(1, 3, 1, 1),
                             persistent=False)
        self.register_buffer('_std', torch.tensor(std, dtype=torch.float).view(1, 3, 1, 1),
                             persistent=False)
        self.register_buffer('_scale', torch.ones(1, 3, 1, 1), persistent=False)
        self.register_buffer('_shift', torch.zeros(1, 3, 1, 1), persistent=False)
        self._renormalize = False
        self._teacher_stats = [float(v) for v in list(mean) + list(std)]
        self.weights_loaded = False

    # ------------------------------------------------------------------ structure
    def freeze(self) -> None:
        """Turn off gradients for every parameter and switch to eval mode."""
        self.requires_grad_(False)
        super().train(False)

    def train(self, mode: bool = True) -> 'BaseTeacher':
        """Ignore ``mode``: a teacher stays in eval mode (no dropout, fixed statistics)."""
        return super().train(False)

    def set_input_normalization(self, mean: Optional[Sequence[float]],
                                std: Optional[Sequence[float]]) -> None:
        """Declare how incoming tensors were normalised (0-255 scale, None = not at all).

        Args:
            mean (Sequence[float], optional): Mean subtracted from the raw input.
            std (Sequence[float], optional): Std the raw input was divided by.
        """
        in_mean = [float(v) for v in (mean if mean is not None else [0.] * 3)]
        in_std = [float(v) for v in (std if std is not None else [1.] * 3)]
        self._renormalize = not all(
            abs(a - b) <= 1e-6 * max(1., abs(b))
            for a, b in zip(in_mean + in_std, self._teacher_stats))
        dev = self._scale.device
        in_mean_t = torch.tensor(in_mean, device=dev).view(1, 3, 1, 1)
        in_std_t = torch.tensor(in_std, device=dev).view(1, 3, 1, 1)
        # raw = x * in_std + in_mean; teacher input = (raw - mean) / std
        self._scale.copy_(in_std_t / self._std)
        self._shift.copy_((in_mean_t - self._mean) / self._std)

    # ------------------------------------------------------------------ weights
    def init_weights(self) -> None:
        """Load the teacher's weights from :attr:`checkpoint` (strictly) and freeze."""
        if not self.weights_loaded:
            path = os.path.expanduser(self.checkpoint)
            if not os.path.isfile(path):
                raise FileNotFoundError(
                    f'{type(self).__name__}: teacher weights not found at {path!r}. sfmm never '
                    f'downloads weights; obtain them and place the file there. '
                    f'{self.how_to_obtain}')
            self.load_weights(path)
            self.weights_loaded = True
        self._is_init = True
        self.freeze()

    @abstractmethod
    def load_weights(self, path: str) -> None:
        """Read ``path`` into the network, strictly."""

    @abstractmethod
    def inheritable_state_dict(self) -> Tuple[Dict[str, Tensor], str]:
        """The network's state dict and its layout name, for weight inheritance."""

    @staticmethod
    def read_state_dict(path: str) -> Dict[str, Tensor]:
        """Read a ``.safetensors`` or torch state-dict file, unwrapping wrapper keys.

        Args:
            path (str): File path.

        Returns:
            dict: name -> tensor.
        """
        if path.endswith('.safetensors'):
            from safetensors.torch import load_file
            sd = load_file(path, device='cpu')
        else:
            sd = load_checkpoint_file(path)
        for key in _WRAPPER_KEYS:
            if isinstance(sd, dict) and key in sd and isinstance(sd[key], dict):
                sd = sd[key]
        if not isinstance(sd, dict):
            raise TypeError(f'{path} does not hold a state dict (got {type(sd).__name__})')
        return dict(sd)

    # ------------------------------------------------------------------ forward
    def prepare(self, x: Tensor, native_size: Union[int, Tuple[int, int]]) -> Tensor:
        """Re-normalise ``x`` for the teacher and resize it to its input size.

        Args:
            x (Tensor): ``(B, 3, H, W)`` images, normalised as declared by
                :meth:`set_input_normalization`.
            native_size (int | tuple): The network's own input size.

        Returns:
            Tensor: ``(B, 3, S, S)``.
        """
        if self._renormalize:
            x = x * self._scale.to(x.dtype) + self._shift.to(x.dtype)
        size = self.input_size or native_size
        size = (size, size) if isinstance(size, int) else tuple(size)
        if tuple(x.shape[-2:]) != size:
            x = F.interpolate(x, size=size, mode='bilinear', align_corners=False,
                              antialias=x.shape[-1] > size[1])
        return x

    @abstractmethod
    def _forward(self, x: Tensor, with_logits: bool) -> Dict[str, Tensor]:
        """Compute the outputs on prepared input."""

    @property
    def has_classifier(self) -> bool:
        """Whether the teacher can output classifier logits."""
        return False

    def forward(self, x: Tensor, with_logits: bool = False) -> Dict[str, Tensor]:
        """Teacher outputs, without gradient.

        Args:
            x (Tensor): ``(B, 3, H, W)`` images.
            with_logits (bool): Also return classifier logits (classification teachers
                only). Defaults to False.

        Returns:
            dict: ``embed`` ``(B, E)`` the alignment embedding, and ``logits`` ``(B, K)`` if
            asked for.
        """
        if with_logits and not self.has_classifier:
            raise ValueError(f'{type(self).__name__} has no classifier to give logits')
        with torch.no_grad():
            return self._forward(x, with_logits)
