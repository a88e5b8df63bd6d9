"""Conditional GAN on MNIST (source 001, section 12.5): is each digit the one that was asked for?

The conditional models themselves live in :mod:`ganlib.models` (``n_classes > 0``) and train with
:func:`ganlib.train.fit` like any other GAN. This module measures them, because a picture grid can hide a
generator that ignores its label (a known failure of public cGAN code, PyTorch-GAN issue #41):

* :func:`encoding_figure` -- the two label encodings, a one-hot vector (G's input) and a label map (D's).
* :func:`class_samples` -- ``n`` generated digits of every class, with the labels they were asked for.
* :func:`class_scores` -- the class accuracy (what the MNIST classifier reads in each generated digit,
  :func:`ganlib.metrics.class_accuracy`) and the per-class Frechet distance
  (:func:`ganlib.metrics.per_class_frechet`) of a trained generator, in one call.
* :func:`plot_confusion`, :func:`plot_per_class` -- the pictures of those numbers.
* :func:`interpolation_frames`, :func:`explorer` -- walking through z with the class held (by
  :func:`ganlib.models.slerp`, also reachable here as ``conditional.slerp``).

Floor 5 (a chapter helper). Taught in: "Conditional GAN on MNIST" (chapter 6).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from . import metrics
from .data import ImageData
from .models import label_maps, one_hot, slerp  # slerp lives in models (chapters 4 and 6 use it)
from .util import eval_mode
from .viz import grid


# ---------------------------------------------------------------- the label encodings
def encoding_figure(y: int, n_classes: int = 10, size: int = 32):
    """Show label ``y`` as G receives it (one-hot ``n_classes x 1 x 1``) and as D receives it (label map
    ``n_classes x size x size``, plane ``y`` all ones). Returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    if not 0 <= y < n_classes:
        raise ValueError(f"label y={y} is not a class; use 0 <= y < {n_classes}.")
    label = torch.tensor([y])
    vector = one_hot(label, n_classes)[0, :, 0, 0]               # (n_classes,)
    planes = label_maps(label, n_classes, size)[0]                 # (n_classes, size, size)
    fig = plt.figure(figsize=(12, 2.9))
    spec = fig.add_gridspec(2, n_classes + 2, height_ratios=[1, 1], width_ratios=[1.3, 0.3] + [1] * n_classes)
    ax = fig.add_subplot(spec[:, 0])
    ax.imshow(vector[:, None].numpy(), cmap="gray_r", vmin=0, vmax=1, aspect="auto")
    ax.set_yticks(range(n_classes))
    ax.set_xticks([])
    ax.set_title(f"G: one-hot y={y}\n{n_classes}x1x1", fontsize=9)
    for c in range(n_classes):
        ax = fig.add_subplot(spec[:, c + 2])
        ax.imshow(planes[c].numpy(), cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        for side in ax.spines.values():
            side.set_color("C3" if c == y else "0.6")
        ax.set_title(f"plane {c}", fontsize=8, color="C3" if c == y else "black")
    fig.suptitle(f"D: label map for y={y}, {n_classes}x{size}x{size} (plane {y} all ones, the others zeros)",
                 fontsize=10, x=0.58)
    fig.subplots_adjust(left=0.03, right=0.99, top=0.72, bottom=0.05)
    return fig


# ---------------------------------------------------------------- generated digits and their classes
def class_labels(n_per_class: int, n_classes: int = 10) -> torch.Tensor:
    """``(n_classes * n_per_class,)`` labels: ``n_per_class`` zeros, then ones, ... (class-sorted)."""
    return torch.arange(n_classes).repeat_interleave(n_per_class)


def class_samples(G: nn.Module, nz: int, n_per_class: int, n_classes: int = 10,
                  seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n_per_class`` digits of every class from a conditional ``G`` (eval mode, fresh z drawn with ``seed``).

    Returns images ``(n_classes * n_per_class, C, H, W)`` in [-1, 1] on the CPU and the labels ``(N,)``
    they were asked for.
    """
    labels = class_labels(n_per_class, n_classes)
    return metrics.generate(G, len(labels), nz, labels, seed=seed), labels


def class_scores(G: nn.Module, nz: int, real: ImageData, n_per_class: int = 500, n_classes: int = 10,
                 seed: int = 0, classifier: nn.Module | None = None) -> dict:
    """Class accuracy and per-class Frechet distance of a conditional ``G`` against labelled ``real`` digits.

    Returns ``{"accuracy": ClassAccuracy, "frechet": (n_classes,) tensor, "images": (N, C, H, W),
    "asked": (N,)}``; the classifier is ``ganlib.metrics.mnist_classifier()`` unless one is given.
    """
    if classifier is None:
        classifier, _ = metrics.mnist_classifier(verbose=False)
    images, asked = class_samples(G, nz, n_per_class, n_classes, seed)
    return {"accuracy": metrics.class_accuracy(classifier, images, asked, n_classes),
            "frechet": metrics.per_class_frechet(classifier, images, asked, real, n_classes),
            "images": images, "asked": asked}


# ---------------------------------------------------------------- plots
def plot_confusion(confusion: torch.Tensor, title: str = "What the classifier reads in generated digits",
                   ax=None):
    """The confusion matrix as row shares (each asked class sums to 1), numbers in the cells. Returns the figure."""
    import matplotlib.pyplot as plt

    c = confusion.double()
    share = (c / c.sum(1, keepdim=True).clamp_min(1)).numpy()
    n = share.shape[0]
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.2, 5.4))
    else:
        fig = ax.figure
    im = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(n):
        for j in range(n):
            if share[i, j] >= 0.005:
                ax.text(j, i, f"{share[i, j]:.2f}".lstrip("0") if share[i, j] < 1 else "1",
                        ha="center", va="center", fontsize=7, color="white" if share[i, j] > 0.6 else "black")
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xlabel("class the classifier reads")
    ax.set_ylabel("class G was asked for")
    ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="share of the row")
    fig.tight_layout()
    return fig


def plot_per_class(accuracy: metrics.ClassAccuracy, frechet: torch.Tensor | None = None,
                   floor: torch.Tensor | None = None, target: float | None = None):
    """Bars of per-class accuracy (with the overall value and an optional ``target`` line) and, if given,
    per-class Frechet distance (with the real-vs-real ``floor``). Returns the figure."""
    import matplotlib.pyplot as plt

    n = len(accuracy.per_class)
    panels = 2 if frechet is not None else 1
    fig, axes = plt.subplots(1, panels, figsize=(6 * panels, 3.6), squeeze=False)
    ax = axes[0, 0]
    ax.bar(range(n), accuracy.per_class.numpy(), color="C0")
    ax.axhline(accuracy.overall, color="C1", lw=2, label=f"overall {accuracy.overall:.3f}")
    if target is not None:
        ax.axhline(target, color="C3", ls="--", lw=1, label=f"target {target}")
    ax.set_ylim(0, 1.18)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_xticks(range(n))
    ax.set_xlabel("class asked for")
    ax.set_ylabel("read as that class")
    ax.set_title("Class accuracy of generated digits")
    ax.legend(loc="upper center", ncol=2, fontsize=8)
    if frechet is not None:
        ax = axes[0, 1]
        width = 0.4 if floor is not None else 0.8
        ax.bar(np.arange(n) - (width / 2 if floor is not None else 0), frechet.numpy(), width, color="C2",
               label="generated vs real")
        if floor is not None:
            ax.bar(np.arange(n) + width / 2, floor.numpy(), width, color="0.6", label="real vs real")
        ax.set_xticks(range(n))
        ax.set_xlabel("class")
        ax.set_ylabel("Frechet distance (classifier features)")
        ax.set_title("Per-class Frechet distance (lower is closer)")
        ax.legend()
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- walking through z
@torch.no_grad()
def interpolation_frames(G: nn.Module, nz: int, n_frames: int = 24, digits=range(10), seeds=(1, 2),
                         classifier: nn.Module | None = None, nrow: int = 5,
                         scale: int = 1) -> tuple[list[np.ndarray], list[str]]:
    """Frames of G's digits while z walks (by :func:`slerp`) from the z drawn with ``seeds[0]`` to the one
    drawn with ``seeds[1]``; the same z for every digit in a frame.

    Returns ``(frames, captions)``: uint8 pictures ``(H, W, C)`` with the ``digits`` in rows of ``nrow``,
    enlarged ``scale`` times, and one caption per frame (what the classifier reads, if one is given),
    ready for ``ganlib.player.player(frames, labels=captions)``.
    """
    digits = torch.as_tensor(list(digits))
    z_a, z_b = (torch.randn(nz, generator=torch.Generator().manual_seed(s)) for s in seeds)
    ts = torch.linspace(0, 1, n_frames)
    path = slerp(z_a, z_b, ts)                                        # (T, nz)
    where = next(G.parameters()).device
    z = path.repeat_interleave(len(digits), 0)                       # (T * n_digits, nz)
    y = digits.repeat(n_frames)
    with eval_mode(G):
        images = G(z.to(where), y.to(where)).cpu()
    read = None
    if classifier is not None:
        read = metrics.probabilities(classifier, images).argmax(1).view(n_frames, len(digits))
    frames, captions = [], []
    for i in range(n_frames):
        picture = grid(images[i * len(digits):(i + 1) * len(digits)], nrow=nrow)
        frames.append(np.ascontiguousarray(picture.repeat(scale, 0).repeat(scale, 1)))
        caption = f"t = {ts[i]:.2f}"
        if read is not None:
            right = int((read[i] == digits).sum())
            caption += f" | classifier reads {' '.join(str(int(r)) for r in read[i])} ({right}/{len(digits)} as asked)"
        captions.append(caption)
    return frames, captions


def explorer(G: nn.Module, nz: int, n_classes: int = 10, seeds=(1, 2), width: int = 256):
    """A live-kernel widget: pick a digit and slide ``t`` along the z path between two seeds; G is called
    on every move. (The static book shows :func:`interpolation_frames` through the player instead.)"""
    import ipywidgets as W

    from .player import encode

    where = next(G.parameters()).device
    digit = W.Dropdown(options=list(range(n_classes)), value=0, description="digit")
    t = W.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.02, description="t", continuous_update=True)
    seed_a = W.IntText(value=seeds[0], description="seed of z_a")
    seed_b = W.IntText(value=seeds[1], description="seed of z_b")
    image = W.Image(format="png", layout=W.Layout(width=f"{width}px"))

    @torch.no_grad()
    def draw(_=None):
        z_a, z_b = (torch.randn(nz, generator=torch.Generator().manual_seed(int(s.value))) for s in (seed_a, seed_b))
        z = slerp(z_a, z_b, torch.tensor([t.value]))
        with eval_mode(G):
            x = G(z.to(where), torch.tensor([digit.value], device=where)).cpu()
        image.value = encode(grid(x, nrow=1, padding=0), "png")[1]

    for w in (digit, t, seed_a, seed_b):
        w.observe(draw, names="value")
    draw()
    return W.HBox([W.VBox([digit, t, seed_a, seed_b]), image])


# ---------------------------------------------------------------- the chapter's targets
def check_class_accuracy(accuracy: metrics.ClassAccuracy, settings) -> list[dict]:
    """Check the chapter's class-accuracy targets with :func:`ganlib.metrics.check_targets`.

    ``settings`` is the chapter's :class:`ganlib.config.Conditional` (``cfg.chapter``): ``min_accuracy`` (the
    overall class accuracy) and ``min_class_accuracy`` (the worst class); a target that is None is not checked
    at this size (the quick size proves only that the code runs). Raises AssertionError naming every missed
    target and its measured value; returns the rows for ``gl.viz.table``.

    Taught in: "Conditional GAN on MNIST" (chapter 6, measuring class accuracy).
    """
    worst_class, worst = accuracy.worst
    measured = {"class accuracy": accuracy.overall, f"worst class ({worst_class})": worst}
    targets = {"class accuracy": (">=", settings.min_accuracy),
               f"worst class ({worst_class})": (">=", settings.min_class_accuracy)}
    return metrics.check_targets(measured, targets)


# ---------------------------------------------------------------- what the two additions do to the optimum
def matching_aware_sweep(others=(3.0, 5.0, 8.0), mus=None, std: float = 1.0, fake_share: float = 0.5) -> dict:
    """The 1-D picture of the matching-aware game for one class y: p(x|y) = N(0, std^2), the other class
    N(o, std^2) for each ``o`` in ``others``, and a generator family p_g = N(mu, std^2).

    Returns ``{"mu": (M,), "plain": (M,), "aware": {o: (M,)}, "minimiser": {o: mu*}, "gradient": {o: dC/dmu
    at mu = 0}}``: C(mu) of the plain conditional game (all negatives are fakes; minimum -log 4 at mu = 0) and
    of the matching-aware game (half fakes, half real samples of the other class:
    :func:`ganlib.theory.matching_aware_c`), where each matching-aware C is smallest
    (:func:`ganlib.theory.matching_aware_minimiser`) and its slope at the data (mu = 0). ``mus``: default 17
    points in [-1, 1].

    Taught in: "Conditional GAN on MNIST" (chapter 6: the matching-aware D moves the optimum).
    """
    from . import theory as T

    mus = np.linspace(-1.0, 1.0, 17) if mus is None else np.asarray(mus, dtype=float)
    match = T.normal(0.0, std)
    family = lambda m: T.normal(m, std)  # noqa: E731
    out = {"mu": mus, "aware": {}, "minimiser": {}, "gradient": {},
           "plain": np.array([T.matching_aware_c(match, T.normal(others[0], std), family(m), fake_share=1.0)
                              for m in mus])}
    for o in others:
        other = T.normal(float(o), std)
        out["aware"][o] = np.array([T.matching_aware_c(match, other, family(m), fake_share) for m in mus])
        out["minimiser"][o] = T.matching_aware_minimiser(match, other, family, bounds=(-3.0 * std, 3.0 * std),
                                                         fake_share=fake_share)[0]
        out["gradient"][o] = T.matching_aware_gradient(match, other, family, 0.0, fake_share)["grad"]
    return out


def plot_matching_aware(sweep: dict):
    """Left: C(mu) - min C for the plain game and for the matching-aware game with each other class, the
    minimisers marked; right: how far the minimiser sits from the data (|mu*|) as the other class moves away.
    ``sweep`` from :func:`matching_aware_sweep`. Returns the figure."""
    import matplotlib.pyplot as plt

    mus = sweep["mu"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    ax = axes[0]
    ax.plot(mus, sweep["plain"] - sweep["plain"].min(), "k-", lw=2, label="plain game (minimum at mu = 0)")
    for i, (o, c) in enumerate(sweep["aware"].items()):
        m = sweep["minimiser"][o]
        ax.plot(mus, c - c.min(), "--", color=f"C{i}", label=f"matching-aware, other class at {o:g}")
        ax.axvline(m, color=f"C{i}", lw=0.8, ls=":")
    ax.axvline(0.0, color="k", lw=0.8)
    ax.set(xlabel="mu (G draws N(mu, 1) for class y; the data is N(0, 1))", ylabel="C(mu) - its minimum",
           title="The objective G minimises, for one class")
    ax.legend(fontsize=8, loc="upper center")
    ax = axes[1]
    others = list(sweep["minimiser"])
    shifts = [abs(sweep["minimiser"][o]) for o in others]
    ax.semilogy(others, shifts, "o-", color="C3")
    for o, m in zip(others, shifts):
        ax.annotate(f"mu* = {sweep['minimiser'][o]:.4f}", (o, m), textcoords="offset points", xytext=(8, 0),
                    fontsize=8, va="center")
    ax.set_xlim(min(others) - 0.5, max(others) + 0.35 * (max(others) - min(others)) + 0.5)
    ax.set_ylim(min(shifts) / 3, max(shifts) * 3)
    ax.set(xlabel="mean of the other class", ylabel="|mu*|: how far the optimum sits from the data",
           title="The bias shrinks as the classes separate")
    fig.tight_layout()
    return fig


def mode_seeking_optimum(weights=(0.0, 0.01, 0.1, 1.0), std: float = 1.0) -> dict:
    """The 1-D picture of the mode-seeking term: data N(0, std^2), a generator G(z) = s z with z ~ N(0, 1).

    For this G the term's ratio is exact, m = |G(z1) - G(z2)| / |z1 - z2| = s, so G minimises
    C(s) + weight / s, with C(s) = -log 4 + 2 JSD(N(0, std^2), N(0, s^2)) the plain game's value at D*.
    Returns ``{weight: s*}``: the minimising spread for each weight; ``s* = std`` only at weight 0 (the
    term's gradient -weight / s^2 never vanishes, so it always pushes towards a wider p_g).

    Taught in: "Conditional GAN on MNIST" (chapter 6: mode seeking moves the optimum).
    """
    from scipy import optimize

    from . import theory as T

    data = T.normal(0.0, std)
    out = {}
    for w in weights:
        res = optimize.minimize_scalar(lambda s: T.c_of_g(data, T.normal(0.0, s)) + w / s,
                                       bounds=(0.3 * std, 5.0 * std), method="bounded", options={"xatol": 1e-7})
        out[w] = float(res.x)
    return out
