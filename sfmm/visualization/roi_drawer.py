"""Draw SparseFormer token RoIs and sampling points (paper Figures 3-7)."""
from typing import Optional, Sequence

import numpy as np


def _palette(n: int) -> np.ndarray:
    import matplotlib
    return matplotlib.colormaps['hsv'](np.linspace(0, 1, n, endpoint=False))[:, :3]


def draw_rois_and_points(image: np.ndarray, rois: np.ndarray, points: np.ndarray,
                         out_file: str, steps: Optional[Sequence[int]] = None,
                         title: Optional[str] = None) -> str:
    """Save a row of panels: the image, its token RoIs after chosen focusing steps, and
    the final sampling points.

    Args:
        image (np.ndarray): (H, W, 3) uint8 RGB, the network input.
        rois (np.ndarray): (R+1, N, 4) RoIs ``x1y1x2y2`` in [0, 1]; index 0 is initial.
        points (np.ndarray): (N, P, 2) final sampling points in [0, 1].
        out_file (str): PNG path.
        steps (Sequence[int], optional): RoI steps to draw. Defaults to None (the paper's
            choice: after the first, the third and the last focusing step).
        title (str, optional): Figure title. Defaults to None.

    Returns:
        str: ``out_file``.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    rois = np.asarray(rois, dtype=np.float64)
    points = np.asarray(points, dtype=np.float64)
    num_steps, num_tokens = rois.shape[:2]
    if steps is None:
        last = num_steps - 1
        steps = sorted({min(1, last), min(3, last), last})
    for s in steps:
        if not 0 <= s < num_steps:
            raise ValueError(f'step {s} out of range: RoIs hold {num_steps} steps '
                             f'(0..{num_steps - 1})')
    h, w = image.shape[:2]
    colors = _palette(num_tokens)
    panels = 2 + len(steps)
    fig, axes = plt.subplots(1, panels, figsize=(2.6 * panels, 2.8))
    for ax in axes:
        ax.imshow(image)
        ax.set_xlim(0, w)
        ax.set_ylim(h, 0)
        ax.axis('off')
    axes[0].set_title('input', fontsize=8)
    for ax, s in zip(axes[1:-1], steps):
        for t in range(num_tokens):
            x1, y1, x2, y2 = rois[s, t]
            ax.add_patch(Rectangle((x1 * w, y1 * h), (x2 - x1) * w, (y2 - y1) * h,
                                   fill=False, lw=0.8, ec=colors[t]))
        ax.set_title('initial RoIs' if s == 0 else f'RoIs, step {s}', fontsize=8)
    ax = axes[-1]
    for t in range(num_tokens):
        ax.scatter(points[t, :, 0] * w, points[t, :, 1] * h, s=3, color=colors[t])
    ax.set_title('sampling points', fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)
    return out_file
