"""Common behaviour of the frozen foundation-model teachers used for bootstrapping."""
from abc import ABCMeta, abstractmethod
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule, initialize

from sfmm.models.utils.weight_init import STRICT_PRETRAINED, strict_init_cfg

Tensor = torch.Tensor


class BaseTeacher(BaseModule, metaclass=ABCMeta):
    """A frozen teacher: always in eval mode, no gradients, weights from one local file.

    Subclasses build their network in ``__init__`` (no file access) and call
    :meth:`freeze`. The weights come from ``init_cfg=dict(type='sfmm.Pretrained',
    checkpoint=PATH)``, applied in :meth:`init_weights` (which mmengine's runner calls before
    training) by :mod:`sfmm.weights`: the file is read safely, mapped to the network's keys by
    the subclass's :meth:`checkpoint_filter_fn` and loaded strictly. Nothing is ever
    downloaded: a missing file raises ``FileNotFoundError`` naming the path and where the
    weights can be obtained (:attr:`how_to_obtain`).

    The teacher runs in whatever autocast context the caller opened, under
    :func:`torch.no_grad` (not inference mode, whose tensors could not be saved by the
    student's loss for backward).

    Input normalisation: the student and the teacher may expect different mean/std. The
    caller tells the teacher how its input was normalised (:meth:`set_input_normalization`,
    done by :class:`~sfmm.models.algorithms.Bootstrapper` from its data preprocessor) and the
    teacher re-normalises to its own ``mean``/``std``. Inputs whose size differs from the
    teacher's ``input_size`` are resized (bilinear, antialiased) before the teacher sees them.

    Args:
        mean (Sequence[float]): Per-channel mean the teacher was trained with (0-255 scale).
        std (Sequence[float]): Per-channel std the teacher was trained with (0-255 scale).
        input_size (int, optional): Square input size the teacher runs at. None means the
            network's native size. Defaults to None.
        init_cfg (dict, optional): ``dict(type='sfmm.Pretrained', checkpoint=PATH)``: the
            local weight file. Required by :meth:`init_weights` (a teacher without weights is
            useless); None only builds the network. Defaults to None.
    """

    #: Key layout of :meth:`inheritable_state_dict` (see ``sfmm.models.utils.inherit``).
    layout: str = ''
    #: A hint on where the weights come from, used in the missing-file error.
    how_to_obtain: str = ''

    def __init__(self,
                 mean: Sequence[float],
                 std: Sequence[float],
                 input_size: Optional[int] = None,
                 init_cfg: Optional[dict] = None) -> None:
        init_cfg = strict_init_cfg(init_cfg)
        if init_cfg is not None and (not isinstance(init_cfg, dict) or
                                     init_cfg.get('type') != STRICT_PRETRAINED):
            raise ValueError(f'{type(self).__name__}: init_cfg must be dict(type='
                             f'{STRICT_PRETRAINED!r}, checkpoint=PATH), got {init_cfg}')
        super().__init__(init_cfg=init_cfg)
        self.input_size = input_size
        self.register_buffer('_mean', torch.tensor(mean, dtype=torch.float).view(1, 3, 1, 1),
                             persistent=False)
        self.register_buffer('_std', torch.tensor(std, dtype=torch.float).view(1, 3, 1, 1),
                             persistent=False)
        self.register_buffer('_scale', torch.ones(1, 3, 1, 1), persistent=False)
        self.register_buffer('_shift', torch.zeros(1, 3, 1, 1), persistent=False)
        self._renormalize = False
        self._teacher_stats = [float(v) for v in list(mean) + list(std)]

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
    @property
    def checkpoint(self) -> Optional[str]:
        """The weight file named by ``init_cfg`` (None if there is none)."""
        return self.init_cfg.get('checkpoint') if isinstance(self.init_cfg, dict) else None

    def init_weights(self) -> None:
        """Load the teacher's file (``init_cfg``, strictly, through :mod:`sfmm.weights`) and
        freeze. Called again, it only freezes."""
        if not self.is_init:
            if self.init_cfg is None:
                raise ValueError(
                    f"{type(self).__name__} has no weights: set init_cfg=dict(type="
                    f"'{STRICT_PRETRAINED}', checkpoint=PATH). {self.how_to_obtain}".rstrip())
            initialize(self, self.init_cfg)
            self.is_init = True
        self.freeze()

    @abstractmethod
    def checkpoint_filter_fn(self, state_dict: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """Map the teacher file's state dict (as read, unwrapped) to this module's keys."""

    @abstractmethod
    def inheritable_state_dict(self) -> Tuple[Dict[str, Tensor], str]:
        """The network's state dict and its layout name, for weight inheritance."""

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
