"""Pictures: image grids, loss curves, real vs fake, frames from figures, tables of results.

The progress player is in ganlib.player (``gl.play(run)``). Floor 3 (imports data).
Taught in: every chapter's results.
"""
from __future__ import annotations

import io
import math
import numbers

import numpy as np
import torch

from .data import to_uint8


def grid(images: torch.Tensor, nrow: int | None = None, padding: int = 2) -> np.ndarray:
    """Images ``(B, C, H, W)`` (float in [-1, 1] or uint8) -> one uint8 picture ``(H', W', C)``."""
    from torchvision.utils import make_grid

    if images.dtype != torch.uint8:
        images = to_uint8(images)
    nrow = nrow or int(math.ceil(math.sqrt(len(images))))
    g = make_grid(images.cpu(), nrow=nrow, padding=padding, pad_value=255)
    return g.permute(1, 2, 0).numpy()


def _imshow(ax, picture, title: str | None = None):
    picture = np.asarray(picture)
    if picture.ndim == 3 and picture.shape[2] == 1:
        picture = picture[:, :, 0]
    ax.imshow(picture, cmap="gray" if picture.ndim == 2 else None, vmin=0, vmax=255, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)


def show(images, title: str | None = None, nrow: int | None = None, size: float = 6.0):
    """Show a batch ``(B, C, H, W)`` as a grid, or an already-made uint8 picture ``(H, W, C)``."""
    import matplotlib.pyplot as plt

    picture = grid(images, nrow) if (torch.is_tensor(images) and images.dim() == 4) else np.asarray(images)
    fig, ax = plt.subplots(figsize=(size, size))
    _imshow(ax, picture, title)
    fig.tight_layout()
    return fig


def real_vs_fake(real: torch.Tensor, fake, n: int = 64, size: float = 6.0):
    """Real images beside fakes; ``fake`` is a batch ``(B, C, H, W)`` or a snapshot ``(H, W, C)``."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(2 * size, size))
    _imshow(axes[0], grid(real[:n]), "Real images")
    fake_pic = grid(fake[:n]) if (torch.is_tensor(fake) and fake.dim() == 4) else np.asarray(fake)
    _imshow(axes[1], fake_pic, "Fake images")
    fig.tight_layout()
    return fig


def smooth(values, window: int) -> np.ndarray:
    """Running mean over ``window`` points (shorter at the start), same length as ``values``."""
    v = np.asarray(values, dtype=float)
    if window <= 1 or len(v) == 0:
        return v
    c = np.cumsum(np.insert(v, 0, 0.0))
    idx = np.arange(1, len(v) + 1)
    lo = np.maximum(0, idx - window)
    return (c[idx] - c[lo]) / (idx - lo)


def losses(history, window: int | None = None, ax=None, stats: bool = True):
    """Loss_D and Loss_G per G update (faint: raw; bold: running mean); with ``stats`` a second panel with
    D(x) and D(G(z)). Returns the figure."""
    import matplotlib.pyplot as plt

    n = len(history)
    window = window or max(1, n // 50)
    steps = np.arange(1, n + 1)
    if ax is None:
        fig, axes = plt.subplots(1, 2 if stats else 1, figsize=(12 if stats else 7, 4), squeeze=False)
        axes = axes[0]
    else:
        fig, axes = ax.figure, [ax]
    for name, label, color in (("loss_d", "Loss_D", "C0"), ("loss_g", "Loss_G", "C1")):
        v = getattr(history, name)
        axes[0].plot(steps, v, color=color, alpha=0.25, lw=0.8)
        axes[0].plot(steps, smooth(v, window), color=color, lw=2, label=label)
    axes[0].set_xlabel("G updates (iterations)")
    axes[0].set_ylabel("loss")
    axes[0].set_title("Generator and discriminator loss")
    axes[0].legend()
    if stats and len(axes) > 1:
        for name, label, color in (("d_x", "D(x)", "C2"), ("d_g_z1", "D(G(z)) before D step", "C3"),
                                   ("d_g_z2", "D(G(z)) after D step", "C4")):
            axes[1].plot(steps, smooth(getattr(history, name), window), color=color, lw=1.5, label=label)
        axes[1].axhline(0.5, color="gray", ls=":", lw=1)
        axes[1].set_xlabel("G updates (iterations)")
        axes[1].set_title("What D says (running mean)")
        axes[1].legend()
    fig.tight_layout()
    return fig


def figure_to_array(fig, dpi: int = 80) -> np.ndarray:
    """Render a matplotlib figure to a uint8 RGB array ``(H, W, 3)`` and close it (frames for the player)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    buf.seek(0)
    from PIL import Image

    return np.asarray(Image.open(buf).convert("RGB"))


def table(rows: list[dict], formats: dict | None = None, index: str | None = None):
    """A table of results, one row per dict in ``rows`` (the keys are the columns, in first-seen order), as a
    pandas DataFrame: it shows as an HTML table in a notebook and in the book, and prints as text.

    ``formats``: ``{column: "{:.2f}"}`` applied to that column's numbers; ``index``: a column to use as the
    row labels. E.g. ``gl.viz.table([{"model": "DCGAN", "MNIST score": 4.98}], {"MNIST score": "{:.2f}"})``.
    """
    import pandas as pd

    columns = list(dict.fromkeys(k for row in rows for k in row))
    formats = formats or {}

    def is_number(v) -> bool:  # NumPy scalars too (np.float32, np.int64); a bool is no number here
        return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))

    cells = [{c: (formats[c].format(row[c]) if c in formats and is_number(row.get(c)) else
                  row.get(c, "")) for c in columns} for row in rows]
    frame = pd.DataFrame(cells, columns=columns)
    return frame.set_index(index) if index else frame
