"""Conditional GAN on MNIST (source 001, section 12.5): is each digit the one that was asked for?

The conditional models themselves live in :mod:`ganlib.models` (``n_classes > 0``) and train with
:func:`ganlib.train.fit` like any other GAN. This module measures them, because a picture grid can hide a
generator that ignores its label (a known failure of public cGAN code, PyTorch-GAN issue #41):

* :func:`encoding_figure` -- the two label encodings, a one-hot vector (G's input) and a label map (D's).
* :func:`class_samples` -- ``n`` generated digits of every class, with the labels they were asked for.
* :func:`confusion_matrix`, :func:`class_accuracy` -- what the MNIST classifier of :mod:`ganlib.metrics`
  reads in each generated digit, per class and overall.
* :func:`per_class_frechet` -- the Frechet distance, class by class, between generated and real digits.
* :func:`evaluate` -- all of the above for a trained generator, in one call.
* :func:`plot_confusion`, :func:`plot_per_class` -- the pictures of those numbers.
* :func:`slerp`, :func:`interpolation_frames`, :func:`explorer` -- walking through z with the class held.

Taught in: "Conditional GAN on MNIST" (chapter 6).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from . import losses as L
from . import metrics
from .data import ImageData
from .models import label_maps, one_hot
from .train import d_step, g_step
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


# ---------------------------------------------------------------- a matching-aware discriminator step
def wrong_labels(y: torch.Tensor, n_classes: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """For labels ``y (B,)``, labels ``(B,)`` drawn uniformly from the *other* ``n_classes - 1`` classes."""
    shift = torch.randint(1, n_classes, y.shape, generator=generator).to(y.device)
    return (y + shift) % n_classes


def matching_d_step(G: nn.Module, D: nn.Module, opt_d: torch.optim.Optimizer, real: torch.Tensor,
                    z: torch.Tensor, loss, real_label: float = 1.0, y: torch.Tensor | None = None,
                    y_fake: torch.Tensor | None = None, generator: torch.Generator | None = None) -> dict:
    """A D step that also shows D real images with *wrong* labels as "fake" (the matching-aware
    discriminator of Reed et al.), so that D must check whether image and label belong together.

    D minimises ``(loss.d(D(x|y), D(G(z|y')|y')) + loss.d(D(x|y), D(x|wrong)))/2``; for the cross-entropy
    losses that is ``-log D(x|y) - 1/2 log(1 - D(G(z|y')|y')) - 1/2 log(1 - D(x|wrong))``. It is
    :func:`ganlib.train.d_step` with that loss: same signature, same statistics; pass it to
    ``gl.fit(..., d_step_fn=matching_d_step)``. ``x`` ``(B, C, H, W)``, ``y``, ``y_fake`` ``(B,)``.
    """
    if y is None or y_fake is None:
        raise ValueError("matching_d_step is for conditional runs: it needs the real labels y and y_fake.")
    loss = L.get(loss)
    wrong = wrong_labels(y, D.n_classes, generator)

    def d_loss(real_out, fake_out, label):
        mismatch_out = D(real, wrong)
        return 0.5 * (loss.d(real_out, fake_out, label) + loss.d(real_out, mismatch_out, label))

    return d_step(G, D, opt_d, real, z, dataclasses.replace(loss, d=d_loss), real_label, y, y_fake, generator)


def pair_labels(y: torch.Tensor) -> torch.Tensor:
    """Labels ``(B,)`` whose second half repeats the first: samples ``i`` and ``i + B//2`` share a label."""
    half = y.shape[0] // 2
    return torch.cat([y[:half], y[:half], y[2 * half:]])


def mode_seeking_g_step(weight: float = 1.0, eps: float = 1e-5):
    """A G step (for ``gl.fit(..., g_step_fn=...)``) with the mode-seeking term of Mao et al. against a
    generator that ignores ``z``.

    The batch is split into pairs that share a label (:func:`pair_labels`) but not a noise vector; besides
    its loss, G minimises ``weight / (ms + eps)`` with ``ms = mean|G(z1|y) - G(z2|y)| / mean|z1 - z2|``:
    two noise vectors must give two different digits. Returns a function with the signature of
    :func:`ganlib.train.g_step`; the ``loss_g`` it reports is the adversarial part alone, so that it
    compares with plain runs.
    """
    def step(G: nn.Module, D: nn.Module, opt_g: torch.optim.Optimizer, z: torch.Tensor, loss,
             y_fake: torch.Tensor | None = None) -> dict:
        if y_fake is None:
            raise ValueError("mode_seeking_g_step is for conditional runs: it needs the labels y_fake.")
        loss = L.get(loss)
        half = z.shape[0] // 2
        made, adversarial = [], []

        def g_recorded(z_, y_):
            made.append(G(z_, y_))
            return made[-1]

        def g_loss(fake_out):
            adv = loss.g(fake_out)
            adversarial.append(adv.item())
            fake = made[-1]
            ms = (fake[:half] - fake[half:2 * half]).abs().mean() / (z[:half] - z[half:2 * half]).abs().mean()
            return adv + weight / (ms + eps)

        stats = g_step(g_recorded, D, opt_g, z, dataclasses.replace(loss, g=g_loss), pair_labels(y_fake))
        stats["loss_g"] = adversarial[-1]
        return stats

    return step


def step_functions(cfg) -> dict:
    """The ``d_step_fn`` / ``g_step_fn`` keyword arguments for ``gl.fit`` that ``cfg.extra`` asks for:
    ``matching_d`` (bool) -> :func:`matching_d_step`; ``mode_seeking`` (weight > 0) -> :func:`mode_seeking_g_step`."""
    steps = {}
    if cfg.extra.get("matching_d"):
        steps["d_step_fn"] = matching_d_step
    if cfg.extra.get("mode_seeking", 0) > 0:
        steps["g_step_fn"] = mode_seeking_g_step(cfg.extra["mode_seeking"])
    return steps


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


def confusion_matrix(asked: torch.Tensor, read: torch.Tensor, n_classes: int = 10) -> torch.Tensor:
    """Counts ``(n_classes, n_classes)``: entry ``[i, j]`` = how many digits asked for as class ``i`` were
    read as class ``j``. ``asked``, ``read``: integer labels ``(N,)``."""
    if asked.shape != read.shape:
        raise ValueError(f"asked {tuple(asked.shape)} and read {tuple(read.shape)} must have the same shape.")
    index = asked.long() * n_classes + read.long()
    return torch.bincount(index, minlength=n_classes * n_classes).view(n_classes, n_classes)


@dataclass
class ClassAccuracy:
    """How often the classifier reads the asked-for class.

    ``overall``: share of all samples read correctly; ``per_class``: ``(n_classes,)`` share per asked class;
    ``confusion``: ``(n_classes, n_classes)`` counts (rows asked, columns read).
    """

    overall: float
    per_class: torch.Tensor
    confusion: torch.Tensor

    @property
    def worst(self) -> tuple[int, float]:
        """The asked class read correctly least often, and its accuracy."""
        c = int(self.per_class.argmin())
        return c, float(self.per_class[c])


def accuracy_from_confusion(confusion: torch.Tensor) -> ClassAccuracy:
    """Overall and per-class accuracy from a confusion matrix (rows: asked class, columns: read class)."""
    confusion = confusion.long()
    rows = confusion.sum(1)
    if (rows == 0).any():
        raise ValueError("Some class has no samples; generate at least one digit of every class.")
    diag = confusion.diagonal()
    return ClassAccuracy(overall=float(diag.sum() / confusion.sum()), per_class=diag.double() / rows.double(),
                         confusion=confusion)


def class_accuracy(classifier: nn.Module, images: torch.Tensor, asked: torch.Tensor,
                   n_classes: int = 10) -> ClassAccuracy:
    """What ``classifier`` reads in ``images (N, 1, H, W)`` compared with the classes ``asked (N,)`` for."""
    read = metrics.probabilities(classifier, images).argmax(1)
    return accuracy_from_confusion(confusion_matrix(asked.cpu(), read, n_classes))


def per_class_frechet(classifier: nn.Module, images: torch.Tensor, asked: torch.Tensor, real: ImageData,
                      n_classes: int = 10, max_real: int | None = 2000) -> torch.Tensor:
    """Frechet distance ``(n_classes,)`` between the generated digits of each class and the real digits of
    that class, on the classifier's 128 penultimate features.

    ``real`` must carry labels; at most ``max_real`` real digits per class are used (all if None). Each
    side needs well over a hundred samples per class for a stable covariance.
    """
    if real.labels is None:
        raise ValueError("per_class_frechet needs labelled real digits (ganlib.data.mnist gives them).")
    fake_feat = metrics.features(classifier, images)
    out = torch.zeros(n_classes, dtype=torch.float64)
    for c in range(n_classes):
        idx = (real.labels == c).nonzero().view(-1)[:max_real]
        if len(idx) < 2 or int((asked == c).sum()) < 2:
            raise ValueError(f"class {c} has too few samples for a covariance (real {len(idx)}, "
                             f"generated {int((asked == c).sum())}).")
        real_feat = metrics.features(classifier, real.images[idx])
        out[c] = metrics.frechet_distance(real_feat, fake_feat[asked.cpu() == c])
    return out


def real_frechet_floor(classifier: nn.Module, a: ImageData, b: ImageData, n_classes: int = 10,
                       max_real: int | None = 2000) -> torch.Tensor:
    """Per-class Frechet distance ``(n_classes,)`` between two sets of *real* digits (e.g. training vs
    held-out): what the number looks like for a perfect generator at these sample sizes."""
    keep = torch.cat([(a.labels == c).nonzero().view(-1)[:max_real] for c in range(n_classes)])
    return per_class_frechet(classifier, a.images[keep], a.labels[keep], b, n_classes, max_real)


def evaluate(G: nn.Module, nz: int, real: ImageData, n_per_class: int = 500, n_classes: int = 10,
             seed: int = 0, classifier: nn.Module | None = None) -> dict:
    """Class accuracy and per-class Frechet distance of a conditional ``G`` against labelled ``real`` digits.

    Returns ``{"accuracy": ClassAccuracy, "frechet": (n_classes,) tensor, "images": (N, C, H, W),
    "asked": (N,)}``; the classifier is ``ganlib.metrics.mnist_classifier()`` unless one is given.
    """
    if classifier is None:
        classifier, _ = metrics.mnist_classifier(verbose=False)
    images, asked = class_samples(G, nz, n_per_class, n_classes, seed)
    return {"accuracy": class_accuracy(classifier, images, asked, n_classes),
            "frechet": per_class_frechet(classifier, images, asked, real, n_classes),
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


def plot_per_class(accuracy: ClassAccuracy, frechet: torch.Tensor | None = None,
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
def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between latent vectors ``a``, ``b`` ``(nz,)`` at times ``t`` ``(T,)`` -> ``(T, nz)``.

    Follows the great circle through the directions of ``a`` and ``b`` and blends their lengths linearly,
    so every point keeps a length typical of N(0, I) samples; the straight line would pass close to the
    origin, where G has seen no z in training (about sqrt(nz/2) instead of sqrt(nz) at the midpoint).
    """
    t = torch.as_tensor(t, dtype=a.dtype).view(-1, 1)
    na, nb = a.norm(), b.norm()
    ua, ub = a / na, b / nb
    omega = torch.arccos((ua @ ub).clamp(-1.0, 1.0))
    if omega.abs() < 1e-6:  # (almost) the same direction: the straight line is the arc
        direction = (1 - t) * ua + t * ub
    else:
        direction = (torch.sin((1 - t) * omega) * ua + torch.sin(t * omega) * ub) / torch.sin(omega)
    return direction * ((1 - t) * na + t * nb)


@torch.no_grad()
def interpolation_frames(G: nn.Module, nz: int, n_frames: int = 24, digits=range(10), seeds=(1, 2),
                         classifier: nn.Module | None = None, nrow: int = 5,
                         scale: int = 1) -> tuple[list[np.ndarray], list[str]]:
    """Frames of G's digits while z walks (by :func:`slerp`) from the z drawn with ``seeds[0]`` to the one
    drawn with ``seeds[1]``; the same z for every digit in a frame.

    Returns ``(frames, captions)``: uint8 pictures ``(H, W, C)`` with the ``digits`` in rows of ``nrow``,
    enlarged ``scale`` times, and one caption per frame (what the classifier reads, if one is given),
    ready for ``ganlib.viz.player(frames, labels=captions)``.
    """
    digits = torch.as_tensor(list(digits))
    z_a, z_b = (torch.randn(nz, generator=torch.Generator().manual_seed(s)) for s in seeds)
    ts = torch.linspace(0, 1, n_frames)
    path = slerp(z_a, z_b, ts)                                        # (T, nz)
    where = next(G.parameters()).device
    was_training = G.training
    G.eval()
    z = path.repeat_interleave(len(digits), 0)                       # (T * n_digits, nz)
    y = digits.repeat(n_frames)
    images = G(z.to(where), y.to(where)).cpu()
    G.train(was_training)
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
        was_training = G.training
        G.eval()
        x = G(z.to(where), torch.tensor([digit.value], device=where)).cpu()
        G.train(was_training)
        image.value = encode(grid(x, nrow=1, padding=0), "png")[1]

    for w in (digit, t, seed_a, seed_b):
        w.observe(draw, names="value")
    draw()
    return W.HBox([W.VBox([digit, t, seed_a, seed_b]), image])
