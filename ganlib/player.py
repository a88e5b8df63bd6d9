"""The progress player: scrub the fixed-noise snapshots of a run, with the loss curves beside them.

``player(frames, steps, history=history)`` returns a :class:`Player`, a self-contained piece of HTML
(frames embedded as base64 JPEG or PNG, a few lines of plain JavaScript, no libraries). Put it as the
last expression of a cell. It has a Play/Pause button, previous/next buttons, a slider, a label with the
frame's G update and epoch, and -- when the run's History is given -- a loss-curve panel whose marker
follows the frame, so that a reader sees what D and G were doing when the picture looked like that.

Why HTML and not ipywidgets: the same output then scrubs in every place a reader meets it -- JupyterLab
and Notebook 7 (ipywidgets 8), Colab (ipywidgets 7, no ``Stack``, its own widget manager), VS Code, and
the static book with no kernel and no network -- because nothing in it needs a kernel, a widget manager
or a CDN. A widget player scrubs without a kernel only through ``jslink`` + ``Stack`` (ipywidgets 8)
and needs a kernel-driven fallback on Colab; this one is the same code everywhere.

Keyboard: Tab to the slider and use the arrow keys (Home/End: first/last frame); with focus on a button
the arrow keys step too, and Space/Enter presses it. The controls carry labels a screen reader reads
(the slider's value is read as "G update 500, epoch 2 (frame 3 of 11)").

Page weight: with ``fmt="auto"`` colour samples are JPEG (``quality`` 80), plots stay lossless PNG,
grey digit grids are sent as one-channel PNG (or JPEG when much smaller), and a frame is shrunk to at
most the area of a ``max_side``-pixel square (256 px in the ``quick`` size). The weights per kind of frame:
benchmarks/bench_player.py. More than ``MAX_FRAMES`` (120) frames are thinned evenly, first and last kept,
with a warning and a note in the player, so a long run's page stays light.

Every text (labels, title, curve names) is escaped for where it lands: HTML-escaped in the page, and in the
script's data ``<``, ``>``, ``&`` are written as ``\\u003c``-style escapes, so no text can end the script
or hide the next one.

Taught in: every chapter with a progression ("Training" 1-D toy, DCGAN on faces and MNIST, conditional
GAN, "Challenges" 2-D rings); a chapter calls it as ``gl.viz.player(...)``.
"""
from __future__ import annotations

import base64
import html
import io
import json
import math
import uuid
import warnings
from collections.abc import Mapping

import numpy as np


# Frames with more pixels than a square of this side are shrunk (aspect kept): the quick size keeps pages tiny.
MAX_SIDE = {"quick": 256, "book": 720, "full": 720}
MIN_DISPLAY_WIDTH = 320   # smaller frames (tiny quick-size grids) are shown scaled up, pixelated, to this width
PNG_PREFERENCE = 1.5      # fmt="auto": grey frames stay PNG (lossless) unless it is this many times the JPEG
DRAWING_COLOURS = 4096    # fmt="auto": colour frames with at most this many colours are plots: always PNG
LOSS_PANEL_PX = (420, 270)  # width, height of the loss-curve panel, in CSS pixels
LOSS_PANEL_MIN_PX = 280   # the panel shrinks to this width to stay beside the frame, then wraps below it
LOSS_PANEL_DPI = 80
# More frames than this are thinned evenly (the first and the last kept), loudly: every frame is embedded in
# the page, so its weight grows with the count (2,500 snapshots made 12.7 MB of HTML). 120 frames scrub
# finely enough to follow a run and play for 48 s at the default 400 ms; ``player(max_frames=...)`` changes it.
MAX_FRAMES = 120


class Player:
    """A rendered progress player: displays itself in a notebook (``_repr_html_``).

    Attributes: ``html`` (the fragment), ``n_frames``, ``labels``, ``markers`` (per frame: the marker's
    ``x`` and curve ``y`` positions in percent of the loss panel, and its caption), ``formats`` (the
    encoding chosen per frame), ``n_given`` (frames passed in; more than ``n_frames`` when they were
    thinned to ``max_frames``), ``kept`` (the indices of the frames shown among those given).
    ``save(path)`` writes a standalone page; ``nbytes`` is its weight.
    """

    def __init__(self, html_fragment: str, n_frames: int, labels: list[str], markers: list[dict] | None,
                 formats: list[str], n_given: int | None = None, kept: list[int] | None = None):
        self.html = html_fragment
        self.n_frames = n_frames
        self.labels = labels
        self.markers = markers
        self.formats = formats
        self.n_given = n_frames if n_given is None else n_given
        self.kept = list(range(n_frames)) if kept is None else kept

    @property
    def nbytes(self) -> int:
        """Bytes this player adds to a page (UTF-8 HTML)."""
        return len(self.html.encode("utf-8"))

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        first, last = self.labels[0], self.labels[-1]
        thinned = f" (thinned from {self.n_given:,})" if self.n_given > self.n_frames else ""
        return (f"<progress player: {self.n_frames} frames{thinned}, {first} ... {last}; "
                f"{self.nbytes / 1e6:.2f} MB of HTML; shown where the front end renders HTML and runs JavaScript>")

    def save(self, path, title: str = "Progress player") -> str:
        """Write a standalone HTML page holding the player; returns the path."""
        page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}'
                f"</title></head>\n<body>\n{self.html}\n</body></html>\n")
        with open(path, "w", encoding="utf-8") as f:
            f.write(page)
        return str(path)


# ---------------------------------------------------------------- frames
def _as_array(frame, index: int) -> np.ndarray:
    """One frame -> uint8 ``(H, W)`` or ``(H, W, 3)``; RGBA is laid on white."""
    if hasattr(frame, "detach"):  # a torch tensor
        frame = frame.detach().cpu().numpy()
    a = np.asarray(frame)
    if a.dtype != np.uint8:
        raise TypeError(f"Frame {index} has dtype {a.dtype}; the player takes uint8 pictures (H, W, C) in 0..255. "
                        "Turn a figure into one with gl.viz.figure_to_array(fig) and images in [-1, 1] with "
                        "gl.data.to_uint8(x).")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 3 and a.shape[2] == 4:
        rgb, alpha = a[:, :, :3].astype(np.float32), a[:, :, 3:].astype(np.float32) / 255.0
        a = np.round(rgb * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] == 3)) or min(a.shape[:2]) < 1:
        raise ValueError(f"Frame {index} has shape {tuple(a.shape)}; expected (H, W), (H, W, 1), (H, W, 3) or "
                         "(H, W, 4), e.g. run.history.snapshots[i] or gl.viz.figure_to_array(fig). (A batch "
                         "(B, C, H, W) must first become one picture: gl.viz.grid(batch).)")
    return a


def _shrink(a: np.ndarray, max_side: int) -> np.ndarray:
    """Shrink (aspect kept) a picture with more pixels than a ``max_side`` x ``max_side`` square; wide
    multi-panel figures keep their width as long as their area fits."""
    from PIL import Image

    h, w = a.shape[:2]
    if h * w <= max_side * max_side:
        return a
    scale = max_side / math.sqrt(h * w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(a).resize(size, Image.Resampling.LANCZOS))


def _gray_if_gray(a: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` with R = G = B (e.g. an MNIST snapshot grid) -> ``(H, W)``: a third of the data."""
    if a.ndim == 3 and np.array_equal(a[:, :, 0], a[:, :, 1]) and np.array_equal(a[:, :, 0], a[:, :, 2]):
        return a[:, :, 0]
    return a


def is_drawing(a: np.ndarray) -> bool:
    """A colour picture with at most ``DRAWING_COLOURS`` distinct colours: a plot or a diagram, not a photo."""
    if a.ndim != 3:
        return False
    packed = (a[:, :, 0].astype(np.uint32) << 16) | (a[:, :, 1].astype(np.uint32) << 8) | a[:, :, 2]
    return len(np.unique(packed)) <= DRAWING_COLOURS


def encode(a: np.ndarray, fmt: str = "auto", quality: int = 80) -> tuple[str, bytes]:
    """uint8 picture ``(H, W)`` or ``(H, W, 3)`` -> ``(mime, bytes)``.

    ``fmt="auto"``: colour plots and diagrams (:func:`is_drawing`) are lossless PNG, so lines and text stay
    sharp; other colour pictures (samples, photos) are JPEG at ``quality``; grey pictures (digit grids) are
    PNG unless it is more than ``PNG_PREFERENCE`` times the JPEG. ``"png"`` / ``"jpeg"`` force one.
    """
    from PIL import Image

    if fmt not in ("auto", "jpeg", "png"):
        raise ValueError(f"fmt={fmt!r}; use 'auto', 'jpeg' or 'png'.")
    img = Image.fromarray(a)

    def png() -> bytes:
        buf = io.BytesIO()
        img.save(buf, format="PNG", optimize=True)
        return buf.getvalue()

    def jpeg() -> bytes:
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=int(quality), optimize=True)
        return buf.getvalue()

    if fmt == "auto":
        if a.ndim == 3:
            fmt = "png" if is_drawing(a) else "jpeg"
        else:
            as_png, as_jpeg = png(), jpeg()
            if len(as_png) <= PNG_PREFERENCE * len(as_jpeg):
                return "image/png", as_png
            return "image/jpeg", as_jpeg
    return ("image/png", png()) if fmt == "png" else ("image/jpeg", jpeg())


def _data_uri(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


# ---------------------------------------------------------------- history -> curves, labels
def smooth_gaps(values, window: int) -> np.ndarray:
    """Running mean over ``window`` points (shorter at the start) of the finite values, same length as
    ``values``; NaN where the value itself is NaN or +-inf. A diverged step is a gap in the curve, and the
    curve goes on after it (a plain running mean would turn everything after it into NaN or inf).
    Equal to :func:`ganlib.viz.smooth` where every value is finite."""
    v = np.asarray(values, dtype=float)
    ok = np.isfinite(v)
    if window <= 1 or len(v) == 0:
        return np.where(ok, v, np.nan)
    total = np.cumsum(np.insert(np.where(ok, v, 0.0), 0, 0.0))
    count = np.cumsum(np.insert(ok.astype(float), 0, 0.0))
    idx = np.arange(1, len(v) + 1)
    lo = np.maximum(0, idx - window)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (total[idx] - total[lo]) / (count[idx] - count[lo])
    out[~ok] = np.nan
    return out


def _curves(history) -> list[tuple[str, np.ndarray, str]]:
    """``[(label, values per G update, colour), ...]`` from a ganlib History or a mapping name -> values."""
    if hasattr(history, "loss_d") and hasattr(history, "loss_g"):
        pairs = [("Loss_D", history.loss_d), ("Loss_G", history.loss_g)]
    elif isinstance(history, Mapping):
        pairs = list(history.items())
    else:
        raise TypeError(f"history must be a ganlib History (run.history) or a dict name -> values per G update, "
                        f"not {type(history).__name__}.")
    curves = [(str(name), np.asarray(values, dtype=float), f"C{i}") for i, (name, values) in enumerate(pairs)]
    lengths = {len(v) for _, v, _ in curves}
    if not curves or len(lengths) != 1 or 0 in lengths:
        raise ValueError("The history's curves must be non-empty and of one length (one value per G update); "
                         f"got lengths {sorted(lengths)}.")
    return curves


def frame_labels(steps, epochs=None) -> list[str]:
    """The label of each frame: ``"G update 500, epoch 2"`` (epochs counted from 1), ``"before training"``
    for step 0. ``epochs[i]`` is the 0-based epoch of G update ``i + 1`` (``History.epoch``)."""
    labels = []
    for s in steps:
        s = int(s)
        if s == 0:
            labels.append("before training (G update 0)")
        elif epochs is not None and 0 < s <= len(epochs):
            labels.append(f"G update {s}, epoch {int(epochs[s - 1]) + 1}")
        else:
            labels.append(f"G update {s}")
    return labels


def loss_panel(curves, steps, window: int | None = None, size_px=LOSS_PANEL_PX, dpi: int = LOSS_PANEL_DPI):
    """Draw the loss curves once and locate the marker of every frame on the picture.

    Returns ``(png_bytes, markers, axes_box)``: ``markers[j] = {"x": %, "y": [% or None per curve],
    "text": caption}`` in percent of the picture (from the left and from the top); ``axes_box`` =
    ``(top %, height %)`` of the plotting area, where the marker line is drawn.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    n = len(curves[0][1])
    window = window or max(1, n // 50)
    x = np.arange(1, n + 1)
    fig = Figure(figsize=(size_px[0] / dpi, size_px[1] / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    lows, highs, smoothed = [], [], []
    for label, values, color in curves:
        sm = smooth_gaps(values, window)  # +-inf, like NaN, is a gap: never a limit of the axes
        smoothed.append(sm)
        ax.plot(x, np.where(np.isfinite(values), values, np.nan), color=color, alpha=0.25, lw=0.8)
        ax.plot(x, sm, color=color, lw=1.8, label=label)
        finite = values[np.isfinite(values)]
        if len(finite):  # a few huge early losses must not flatten the rest of the curve
            lows.append(min(np.percentile(finite, 1), np.nanmin(sm)))
            highs.append(max(np.percentile(finite, 99), np.nanmax(sm)))
    if lows:
        lo, hi = min(lows), max(highs)
        pad = 0.05 * (hi - lo) if hi > lo else 0.5
        ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlim(0, max(n, 1))
    ax.set_xlabel("G updates")
    ax.set_ylabel("loss" if len(curves) == 2 and curves[0][0] == "Loss_D" else "value")
    smooth_note = f" (bold: running mean of {window})" if window > 1 else ""
    ax.set_title("What D and G were doing" + smooth_note, fontsize=9)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.canvas.draw()
    width, height = fig.canvas.get_width_height()
    (_, y0), (_, y1) = ax.transData.transform([(ax.get_xlim()[0], ax.get_ylim()[0]),
                                                 (ax.get_xlim()[1], ax.get_ylim()[1])])
    markers = _markers(ax, curves, smoothed, steps, n, width, height)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    top = 100.0 * (1.0 - y1 / height)
    return buf.getvalue(), markers, (round(float(top), 3), round(float(100.0 * (y1 - y0) / height), 3))


def _markers(ax, curves, smoothed, steps, n: int, width: int, height: int) -> list[dict]:
    """Where each frame's marker sits on the loss panel (percent of the picture) and its caption."""
    ylo, yhi = ax.get_ylim()
    markers = []
    for s in steps:
        s = int(min(max(int(s), 0), n))
        px = ax.transData.transform((s, ylo))[0]
        ys, parts = [], []
        for (label, values, _), sm in zip(curves, smoothed):
            if s > 0 and not np.isfinite(sm[s - 1]):
                parts.append(f"{label} {values[s - 1]} (not drawn)")  # the gap is named, not hidden
            if s == 0 or not np.isfinite(sm[s - 1]):
                ys.append(None)
                continue
            v = float(np.clip(sm[s - 1], ylo, yhi))
            py = ax.transData.transform((s, v))[1]
            ys.append(round(float(100.0 * (1.0 - py / height)), 3))
            parts.append(f"{label} {sm[s - 1]:.3f}")
        text = (f"G update {s}: " + ", ".join(parts)) if parts else "before training: no losses yet"
        markers.append({"x": round(float(100.0 * px / width), 3), "y": ys, "text": text})
    return markers


# ---------------------------------------------------------------- the player
def player(frames, steps=None, labels=None, history=None, interval_ms: int = 400, width: int | None = None,
           fmt: str = "auto", quality: int = 80, max_side: int | None = None, title: str | None = None,
           window: int | None = None, loop: bool = False, max_frames: int | None = MAX_FRAMES) -> Player:
    """A progress player for ``frames``, with a loss panel when ``history`` is given.

    Args:
        frames: uint8 pictures ``(H, W, C)`` (C = 1, 3 or 4) or ``(H, W)``, numpy or torch -- e.g.
            ``run.history.snapshots`` or ``gl.viz.figure_to_array(fig)`` frames of a 1-D/2-D plot.
        steps: the G update of each frame (default: ``history.snapshot_steps`` when it matches, else none).
        labels: one text per frame (default: ``"G update 500, epoch 2"`` from ``steps`` and the history).
        history: the run's :class:`ganlib.train.History` (Loss_D and Loss_G are drawn) or a dict
            ``name -> values per G update``; the marker on its panel follows the frame.
        interval_ms: time per frame when playing. ``loop``: start again after the last frame.
        width: display width of the frames in CSS pixels (default: their own width, at least 320).
        fmt, quality: frame encoding, ``"auto"`` | ``"jpeg"`` | ``"png"``, and the JPEG quality.
        max_side: frames with more pixels than a ``max_side``-pixel square are shrunk (default by size:
            ``MAX_SIDE``: 256 in quick, 720 in book and full).
        title: a heading above the player. ``window``: running-mean window of the loss panel.
        max_frames: more frames than this (default ``MAX_FRAMES``, 120) are thinned evenly, the first and
            the last kept, with a warning and a note in the player; None keeps every frame.

    Labels, the title and every other text are escaped for the HTML and the script they land in, so any
    text shows as written. A NaN or +-inf loss is a gap in the panel's curves (named in the marker's caption).

    Returns a :class:`Player`; as the last expression of a cell it shows itself.
    """
    from .config import size

    frames, steps, labels, curves = _checked(frames, steps, labels, history, interval_ms, max_frames)
    n_given = len(frames)
    kept, note = _thinned(n_given, max_frames)
    frames = [frames[i] for i in kept]
    steps = None if steps is None else [steps[i] for i in kept]
    labels = None if labels is None else [labels[i] for i in kept]
    pictures = [_gray_if_gray(_shrink(_as_array(f, i), max_side or MAX_SIDE[size()])) for i, f in zip(kept, frames)]
    if labels is None:
        epochs = getattr(history, "epoch", None) if history is not None else None
        labels = frame_labels(steps, epochs) if steps is not None else [f"frame {i + 1}" for i in kept]

    encoded = [encode(p, fmt, quality) for p in pictures]
    markers = panel = None
    if curves is not None:
        spread = np.linspace(0, len(curves[0][1]), n_given).round().astype(int)  # frames over the run
        panel_steps = steps if steps is not None else spread[kept]
        panel_png, markers, axes_box = loss_panel(curves, panel_steps, window)
        panel = {"uri": _data_uri("image/png", panel_png), "names": [c[0] for c in curves],
                 "colors": [_css_color(c[2]) for c in curves], "box": axes_box}

    h0, w0 = pictures[-1].shape[:2]
    display_w = int(width or max(w0, MIN_DISPLAY_WIDTH))
    fragment = _render(
        uid="glp-" + uuid.uuid4().hex[:12],
        frames=[_data_uri(m, b) for m, b in encoded], labels=labels, markers=markers, panel=panel,
        display_w=display_w, pixelated=display_w >= 2 * w0, natural=(w0, h0),
        interval_ms=int(interval_ms), loop=bool(loop), title=title, note=note)
    return Player(fragment, len(pictures), labels, markers, [m.split("/")[1] for m, _ in encoded], n_given, kept)


def _checked(frames, steps, labels, history, interval_ms, max_frames):
    """The player's inputs checked and normalised: ``(frames list, steps or None, labels or None, curves)``."""
    if hasattr(frames, "ndim") and frames.ndim in (2, 3):  # one picture, not a sequence of them
        frames = [frames]
    frames = list(frames)
    if not frames:
        raise ValueError("No frames to play: the run has no snapshots (is snapshot_every larger than the run?).")
    if interval_ms <= 0:
        raise ValueError(f"interval_ms={interval_ms}; it must be positive (milliseconds per frame).")
    if max_frames is not None and (isinstance(max_frames, bool) or not isinstance(max_frames, int)
                                   or max_frames < 2):
        raise ValueError(f"max_frames={max_frames!r}; use an int >= 2 (the first and the last frame are always "
                         "kept) or None to keep every frame.")
    n = len(frames)
    curves = _curves(history) if history is not None else None
    if steps is None and history is not None and len(getattr(history, "snapshot_steps", [])) == n:
        steps = list(history.snapshot_steps)
    if steps is not None:
        steps = [int(s) for s in steps]
        if len(steps) != n:
            raise ValueError(f"{len(steps)} steps for {n} frames; pass one G update per frame "
                             "(run.history.snapshot_steps).")
        if curves is not None and max(steps) > len(curves[0][1]):
            raise ValueError(f"The frames go up to G update {max(steps)} but the history holds "
                             f"{len(curves[0][1])} G updates: pass the History of the same run.")
    if labels is not None:
        labels = [str(t) for t in labels]
        if len(labels) != n:
            raise ValueError(f"{len(labels)} labels for {n} frames; pass one label per frame.")
    return frames, steps, labels, curves


def _thinned(n_given: int, max_frames: int | None) -> tuple[list[int], str | None]:
    """The frames kept (:func:`thin`) and, when some were left out, the note shown in the player (and a warning)."""
    kept = thin(n_given, max_frames)
    if len(kept) == n_given:
        return kept, None
    warnings.warn(f"player: kept {len(kept)} of {n_given:,} frames, evenly spaced (the first and the last "
                  f"kept): every frame is embedded in the page. Pass max_frames=None to keep them all, or "
                  f"snapshot less often.", stacklevel=3)
    return kept, (f"Showing {len(kept)} of {n_given:,} frames, evenly spaced (the first and the last kept), "
                  "to keep the page light.")


def thin(n: int, max_frames: int | None = MAX_FRAMES) -> list[int]:
    """Indices of at most ``max_frames`` of ``n`` frames, evenly spaced, always the first and the last
    (all of them when ``n <= max_frames`` or ``max_frames`` is None)."""
    if max_frames is None or n <= max_frames:
        return list(range(n))
    # spacing (n - 1) / (max_frames - 1) > 1, so the rounded positions are distinct: exactly max_frames
    return np.linspace(0, n - 1, max_frames).round().astype(int).tolist()


def play(run, title: str | None = None, **options) -> Player:
    """The player of ``run`` (a :class:`ganlib.train.Run`): its fixed-noise snapshots, each labelled with its
    G update and epoch, beside the loss curves of its History. ``options`` are those of :func:`player`."""
    h = run.history
    options.setdefault("max_side", MAX_SIDE[run.cfg.size])
    return player(h.snapshots, steps=h.snapshot_steps, history=h, title=title or run.cfg.name, **options)


def _css_color(name: str) -> str:
    from matplotlib.colors import to_hex

    return to_hex(name)


_CSS = """
#{id} {{ font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; font-size: 14px; margin: .5em 0; }}
#{id} .glp-title {{ font-weight: 600; margin: 0 0 .3em; }}
#{id} .glp-nojs {{ font-size: .85em; font-style: italic; margin: 0 0 .3em; }}
#{id} .glp-note {{ font-size: .85em; margin: 0 0 .3em; }}
#{id} .glp-bar {{ display: flex; align-items: center; gap: .45em; flex-wrap: wrap; margin: 0 0 .5em; }}
#{id} .glp-bar[hidden] {{ display: none; }}
#{id} button {{ min-width: 2.3em; height: 2.1em; padding: 0 .5em; border: 1px solid #8a8a8a; border-radius: 4px;
  background: transparent; color: inherit; cursor: pointer; font: inherit; line-height: 1; }}
#{id} button:hover {{ background: rgba(127, 127, 127, .15); }}
#{id} button:focus-visible, #{id} input:focus-visible {{ outline: 2px solid #1a73e8; outline-offset: 2px; }}
#{id} input[type=range] {{ flex: 1 1 12em; min-width: 8em; max-width: 26em; margin: 0; }}
#{id} .glp-label {{ font-variant-numeric: tabular-nums; min-width: 13em; }}
#{id} .glp-panels {{ display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }}
#{id} figure {{ margin: 0; }}
#{id} .glp-frame {{ flex: 0 1 auto; max-width: 100%; }}
#{id} .glp-frame img {{ display: block; width: {w}px; max-width: 100%; height: auto; image-rendering: {rendering}; }}
#{id} .glp-loss {{ flex: 1 1 {lmin}px; max-width: {lw}px; }}
#{id} .glp-lossbox {{ position: relative; width: 100%; }}
#{id} .glp-lossbox img {{ display: block; width: 100%; height: auto; }}
#{id} .glp-vline {{ position: absolute; width: 0; border-left: 2px solid #d62728; margin-left: -1px;
  pointer-events: none; }}
#{id} .glp-dot {{ position: absolute; width: 10px; height: 10px; margin: -5px 0 0 -5px; border-radius: 50%;
  border: 2px solid #fff; box-sizing: border-box; box-shadow: 0 0 0 1px #333; pointer-events: none; }}
#{id} figcaption {{ font-size: .9em; margin-top: .25em; font-variant-numeric: tabular-nums; text-align: left;
  color: inherit; }}
"""

_JS = """
(function () {
  "use strict";
  var D = %(data)s;
  function start(root) {
    var q = function (sel) { return root.querySelector(sel); };
    var img = q(".glp-frame img"), slider = q(".glp-slider"), label = q(".glp-label"), bar = q(".glp-bar");
    var play = q(".glp-play"), prev = q(".glp-prev"), next = q(".glp-next");
    var vline = q(".glp-vline"), readout = q(".glp-readout"), dots = root.querySelectorAll(".glp-dot");
    var n = D.frames.length, i = n - 1, timer = null;
    function show(k) {
      i = Math.max(0, Math.min(n - 1, k));
      img.src = D.frames[i];
      img.alt = D.alt + " " + D.labels[i];
      slider.value = String(i);
      slider.setAttribute("aria-valuetext", D.labels[i] + " (frame " + (i + 1) + " of " + n + ")");
      label.textContent = D.labels[i];
      root.setAttribute("data-frame", String(i));
      if (vline && D.markers) {
        var m = D.markers[i];
        vline.style.left = m.x + "%%";
        for (var j = 0; j < dots.length; j++) {
          var y = m.y[j];
          dots[j].style.display = (y === null) ? "none" : "block";
          if (y !== null) { dots[j].style.left = m.x + "%%"; dots[j].style.top = y + "%%"; }
        }
        readout.textContent = m.text;
      }
    }
    function setPlaying(on) {
      play.textContent = on ? "\\u275A\\u275A" : "\\u25B6\\uFE0E";
      play.setAttribute("aria-label", on ? "Pause" : "Play");
      play.setAttribute("aria-pressed", on ? "true" : "false");
      play.title = on ? "Pause" : "Play";
      label.setAttribute("aria-live", on ? "off" : "polite");
    }
    function stop() { if (timer !== null) { clearInterval(timer); timer = null; } setPlaying(false); }
    function tick() {
      if (i < n - 1) { show(i + 1); } else if (D.loop) { show(0); } else { stop(); }
    }
    function go() {
      if (i >= n - 1) { show(0); }
      setPlaying(true);
      timer = setInterval(tick, D.interval);
    }
    play.addEventListener("click", function () { if (timer !== null) { stop(); } else { go(); } });
    prev.addEventListener("click", function () { stop(); show(i - 1); });
    next.addEventListener("click", function () { stop(); show(i + 1); });
    slider.addEventListener("input", function () { stop(); show(parseInt(slider.value, 10)); });
    root.addEventListener("keydown", function (e) {
      if (e.target === slider || e.altKey || e.ctrlKey || e.metaKey) { return; }  // the slider steps by itself
      var to = {ArrowLeft: i - 1, ArrowDown: i - 1, ArrowRight: i + 1, ArrowUp: i + 1, Home: 0, End: n - 1}[e.key];
      if (to === undefined) { return; }
      e.preventDefault(); stop(); show(to);
    });
    bar.hidden = false;
    var note = q(".glp-nojs");
    if (note) { note.parentNode.removeChild(note); }
    show(i);
  }
  var me = document.currentScript, tries = 0;
  (function boot() {
    var root = (me && me.parentElement && me.parentElement.closest("#" + D.id)) || document.getElementById(D.id);
    if (root) { if (!root.hasAttribute("data-ready")) { root.setAttribute("data-ready", "1"); start(root); } }
    else if (tries++ < 200) { setTimeout(boot, 50); }  // a front end may attach the output after running this
  })();
})();
"""


# JupyterLab / Notebook 7 take the arrow keys of a focused control in an output for their own shortcuts
# (".jp-Notebook.jp-mod-commandMode :focus" matches it) unless the element itself carries this attribute.
_NO_SHORTCUTS = 'data-lm-suppress-shortcuts="true"'


def script_json(obj) -> str:
    """``obj`` as JSON that is safe inside a ``<script>`` element, whatever its strings hold.

    ``<``, ``>`` and ``&`` become ``\\u003c``, ``\\u003e`` and ``\\u0026`` (and U+2028/U+2029, line breaks
    to older JavaScript, ``\\u2028``/``\\u2029``): the same strings to JavaScript, but no ``</script>``
    can end the element early and no ``<!--<script>`` can make the HTML parser swallow the next script.
    """
    text = json.dumps(obj)
    for ch, code in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                     ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, code)
    return text


def _render(uid, frames, labels, markers, panel, display_w, pixelated, natural, interval_ms, loop, title,
            note=None):
    esc = html.escape  # every text in HTML context (elements and attribute values) goes through it
    n = len(frames)
    alt = "Fixed-noise samples at"
    data = {"id": uid, "frames": frames, "labels": labels, "markers": markers, "interval": interval_ms,
            "loop": loop, "alt": alt}
    script = _JS % {"data": script_json(data)}
    lw = LOSS_PANEL_PX[0]
    css = _CSS.format(id=uid, w=display_w, lw=lw, lmin=LOSS_PANEL_MIN_PX,
                      rendering="pixelated" if pixelated else "auto")
    name = title or "Training progress"
    parts = [f'<div class="glp" id="{uid}" role="group" aria-label="{esc(name)} player" {_NO_SHORTCUTS}>',
             f"<style>{css}</style>"]
    if title:
        parts.append(f'<p class="glp-title">{esc(title)}</p>')
    if note:
        parts.append(f'<p class="glp-note">{esc(note)}</p>')
    parts.append(
        '<div class="glp-bar" hidden>'
        f'<button type="button" class="glp-prev" {_NO_SHORTCUTS} aria-label="Previous frame" '
        'title="Previous frame">&#x2039;</button>'
        f'<button type="button" class="glp-play" {_NO_SHORTCUTS} aria-label="Play" aria-pressed="false" '
        'title="Play">&#x25B6;&#xFE0E;</button>'
        f'<button type="button" class="glp-next" {_NO_SHORTCUTS} aria-label="Next frame" '
        'title="Next frame">&#x203A;</button>'
        f'<input type="range" class="glp-slider" {_NO_SHORTCUTS} min="0" max="{n - 1}" step="1" '
        f'value="{n - 1}" aria-label="Frame (G update)" aria-valuetext="{esc(labels[-1])}">'
        f'<output class="glp-label" aria-live="polite">{esc(labels[-1])}</output>'
        "</div>")
    w0, h0 = natural
    parts.append('<p class="glp-nojs">The last frame is shown; the player\'s controls appear where the page runs '
                 "JavaScript (in Jupyter: run the cell, or trust the notebook).</p>")
    parts.append('<div class="glp-panels">')
    parts.append(f'<figure class="glp-frame"><img src="{frames[-1]}" width="{w0}" height="{h0}" '
                 f'alt="{esc(alt)} {esc(labels[-1])}"></figure>')
    if panel is not None:
        top, height = panel["box"]
        m = markers[-1]
        dots = "".join(
            f'<div class="glp-dot" title="{esc(nm)}" style="background:{c};'
            + (f'left:{m["x"]}%;top:{y}%"' if y is not None else 'display:none"') + "></div>"
            for nm, c, y in zip(panel["names"], panel["colors"], m["y"]))
        parts.append(
            '<figure class="glp-loss"><div class="glp-lossbox">'
            f'<img src="{panel["uri"]}" alt="Loss curves of the run ({esc(", ".join(panel["names"]))}) against '
            f'G updates; a red line marks the frame shown.">'
            f'<div class="glp-vline" style="left:{m["x"]}%;top:{top}%;height:{height}%"></div>{dots}</div>'
            f'<figcaption class="glp-readout">{esc(m["text"])}</figcaption></figure>')
    parts.append("</div>")
    parts.append(f"<script>{script}</script></div>")
    return "\n".join(parts)
