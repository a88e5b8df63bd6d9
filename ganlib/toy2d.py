"""The 2-D toy problems of chapters 7 and 8: mixtures of Gaussians on a ring or a grid, the GAN Lab view
(G's samples over the data, on top of D's decision surface), and the mode-collapse lab.

* :func:`ring` / :func:`ring_centers` -- ``n_modes`` Gaussians evenly spaced on a circle (Metz et al. 2017).
* :func:`grid_mixture` / :func:`grid_centers` -- a ``side x side`` grid of Gaussians (Srivastava et al. 2017).
* :func:`data` -- either one as :class:`ganlib.data.TensorData`, ready for :func:`ganlib.train.fit`;
  :func:`dataset` -- the one a preset names.
* :func:`frame` -- one uint8 picture of a run's state; pass ``snapshot=lambda run: frame(run, centers)``
  to ``fit`` and play the frames with ``gl.play(run)``.
* :data:`METHODS` / :func:`lab_run` -- the mode-collapse lab: the plain GAN and its remedies (unrolled GAN,
  WGAN-GP, PacGAN), each trained by ``fit`` on the same data and scored by
  :func:`ganlib.metrics.mode_metrics`.

The networks are ``gl.models.build(cfg)`` with ``arch="toy2d"``; the mode metrics live in ganlib.metrics and
the gradient probe in ganlib.steps.

Floor 5 (a chapter helper). Taught in: "Challenges" (mode collapse and its remedies), "Variants" (every loss
on the ring).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .cache import memo
from .config import Config
from .data import TensorData
from .metrics import generate, mode_metrics
from .models import build
from .steps import Unrolled
from .train import GANStep, Run, blank_frame, fit
from .util import eval_mode

KINDS = ("ring", "grid")


# ---------------------------------------------------------------- data
def ring_centers(n_modes: int = 8, radius: float = 2.0) -> torch.Tensor:
    """``(n_modes, 2)`` centres evenly spaced on a circle of ``radius``, the first at angle 0."""
    if n_modes < 1:
        raise ValueError(f"n_modes must be at least 1, got {n_modes}.")
    angle = 2 * math.pi * torch.arange(n_modes, dtype=torch.float64) / n_modes
    return torch.stack([radius * angle.cos(), radius * angle.sin()], dim=1).float()


def grid_centers(side: int = 5, spacing: float = 2.0) -> torch.Tensor:
    """``(side**2, 2)`` centres of a ``side x side`` grid with ``spacing`` between neighbours, centred on 0.

    With the defaults: coordinates -4, -2, 0, 2, 4 on both axes (Srivastava et al. 2017).
    """
    if side < 1:
        raise ValueError(f"side must be at least 1, got {side}.")
    coords = (torch.arange(side, dtype=torch.float32) - (side - 1) / 2) * spacing
    xs, ys = torch.meshgrid(coords, coords, indexing="xy")
    return torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1)


def mixture(n: int, centers: torch.Tensor, std: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` points ``(n, 2)`` from the equal-weight mixture of N(centre, std^2 I) over ``centers (K, 2)``."""
    which = torch.randint(len(centers), (n,), generator=generator)
    return centers[which] + std * torch.randn(n, centers.shape[1], generator=generator)


def ring(n: int, n_modes: int = 8, radius: float = 2.0, std: float = 0.02,
         generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` points ``(n, 2)`` from a ring of ``n_modes`` Gaussians of standard deviation ``std``."""
    return mixture(n, ring_centers(n_modes, radius), std, generator)


def grid_mixture(n: int, side: int = 5, spacing: float = 2.0, std: float = 0.05,
         generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` points ``(n, 2)`` from a ``side x side`` grid of Gaussians of standard deviation ``std``."""
    return mixture(n, grid_centers(side, spacing), std, generator)


def centers(kind: str = "ring", **kwargs) -> torch.Tensor:
    """The centres of ``kind`` (``ring``: ``n_modes``, ``radius``; ``grid``: ``side``, ``spacing``)."""
    kwargs.pop("std", None)
    if kind == "ring":
        return ring_centers(**kwargs)
    if kind == "grid":
        return grid_centers(**kwargs)
    raise ValueError(f"Unknown toy data kind {kind!r}; use one of {', '.join(KINDS)}.")


def default_std(kind: str) -> float:
    """The standard deviation :func:`ring` (0.02) or :func:`grid_mixture` (0.05) uses by default."""
    return {"ring": 0.02, "grid": 0.05}[kind]


def data(kind: str = "ring", n: int = 10_000, seed: int = 0, **kwargs) -> TensorData:
    """``n`` samples of ``kind`` (``ring`` or ``grid``) as :class:`TensorData` for ``fit``.

    ``kwargs`` go to :func:`ring` / :func:`grid_mixture` (e.g. ``std=0.05``). The returned object also carries
    ``.centers (K, 2)`` and ``.std``, which :func:`ganlib.metrics.mode_metrics` and :func:`frame` need.
    """
    if kind not in KINDS:
        raise ValueError(f"Unknown toy data kind {kind!r}; use one of {', '.join(KINDS)}.")
    generator = torch.Generator().manual_seed(seed)
    x = (ring if kind == "ring" else grid_mixture)(n, generator=generator, **kwargs)
    std = kwargs.get("std", default_std(kind))
    out = TensorData(x, source=f"{kind} of Gaussians, std {std}, {n} points (seed {seed})")
    out.centers, out.std, out.kind = centers(kind, **kwargs), std, kind
    return out


def dataset(cfg: Config, seed: int = 0) -> TensorData:
    """The toy data preset ``cfg`` names: ``cfg.n_train`` points of ``cfg.chapter.kind`` with ``cfg.chapter.std``."""
    return data(cfg.chapter.kind, n=cfg.n_train, std=cfg.chapter.std, seed=seed)


# ---------------------------------------------------------------- the GAN Lab view
REAL_RGB = (0, 120, 50)      # data points: dark green (GAN Lab's colour for real)
FAKE_RGB = (150, 20, 170)    # G's samples: purple (GAN Lab's colour for fake)


def _colormap(values: np.ndarray) -> np.ndarray:
    """values in [0, 1] ``(H, W)`` -> uint8 RGB ``(H, W, 3)``: purple (0, fake) .. white .. green (1, real), pale."""
    from matplotlib import colormaps

    rgb = colormaps["PRGn"](values)[..., :3]
    return (255 * (0.45 * rgb + 0.55)).astype(np.uint8)  # blend with white so the points stand out


def surface(D: nn.Module, limits: float, resolution: int = 128, probabilities: bool = True):
    """D's decision surface on the square ``[-limits, limits]^2``: ``(values (res, res) in [0, 1], raw)``.

    Row 0 is the top (largest y). With ``probabilities`` the values are sigmoid(logit); otherwise (critics)
    the raw scores rescaled to [0, 1] over the square (only their ordering means something). A packed D
    (PacGAN) is shown its verdict on packs of identical copies of each point.
    """
    axis = torch.linspace(-limits, limits, resolution)
    xs, ys = torch.meshgrid(axis, axis.flip(0), indexing="xy")
    pts = torch.stack([xs.reshape(-1), ys.reshape(-1)], 1)
    where = next(D.parameters()).device
    pack = getattr(D, "pack", 1)
    if pack > 1:  # a packed D judges packs: show its verdict on a pack of `pack` copies of each point
        pts = pts.repeat_interleave(pack, dim=0)
    with eval_mode(D):
        raw = D(pts.to(where)).float().cpu().view(resolution, resolution)
    if probabilities:
        values = torch.sigmoid(raw)
    else:
        lo, hi = raw.min(), raw.max()
        values = (raw - lo) / (hi - lo).clamp_min(1e-12)
    return values.numpy(), raw.numpy()


def frame(run, centers: torch.Tensor, data_points: torch.Tensor | None = None, limits: float | None = None,
          size: int = 320, std: float | None = None, title: str | None = None) -> np.ndarray:
    """The GAN Lab view of ``run`` as a uint8 picture ``(size, size, 3)``.

    Background: D's decision surface (green: D says real, purple: D says fake; sigmoid of the logit, or for
    a critic its score rescaled to the frame). Points: ``data_points (N, 2)`` in green, G's samples for the
    run's fixed noise in purple, the centres as small black circles of radius 3 std (when ``std`` is given).
    The caption gives the G update and, with ``std``, modes covered and the high-quality share of the
    fixed-noise samples. ``limits``: half-width of the square shown (default: the centres' extent + 1).
    Usable directly as ``fit(..., snapshot=lambda run: frame(run, centers))``.
    """
    from PIL import Image, ImageDraw

    centers = torch.as_tensor(centers, dtype=torch.float32).cpu()
    if limits is None:
        limits = float(centers.abs().max()) + 1.0
    values, _ = surface(run.D, limits, probabilities=run.loss.probabilities)
    img = Image.fromarray(_colormap(values)).resize((size, size), Image.BILINEAR)
    draw = ImageDraw.Draw(img)
    scale = size / (2 * limits)

    def to_px(p: torch.Tensor) -> np.ndarray:  # (N, 2) data coords -> (N, 2) pixel coords (y down)
        p = p.detach().float().cpu().numpy()
        return np.stack([(p[:, 0] + limits) * scale, (limits - p[:, 1]) * scale], axis=1)

    if data_points is not None:
        for x, y in to_px(torch.as_tensor(data_points)):
            draw.rectangle([x - 1, y - 1, x + 1, y + 1], fill=REAL_RGB)
    with eval_mode(run.G):
        fake = run.G(run.fixed_noise, run.fixed_labels).float().cpu()
    for x, y in to_px(fake):
        draw.ellipse([x - 2, y - 2, x + 2, y + 2], fill=FAKE_RGB)
    r = max(2.0, 3 * (std or 0.0) * scale)
    for x, y in to_px(centers):
        draw.ellipse([x - r, y - r, x + r, y + r], outline=(0, 0, 0))
    caption = title or f"G update {run.step}"
    if std is not None:
        m = mode_metrics(fake, centers, std)
        caption += f"   modes {m['modes']}/{len(centers)}   HQ {100 * m['hq']:.0f}%"
    draw.rectangle([0, 0, size, 14], fill=(255, 255, 255))
    draw.text((4, 2), caption, fill=(0, 0, 0))
    return np.asarray(img, dtype=np.uint8)


# ---------------------------------------------------------------- the mode-collapse lab
@dataclass(frozen=True)
class Method:
    """One way of training the 2-D GAN: what it changes in the configuration and in the training step."""

    label: str                                   # how tables and plots name it
    changes: dict = field(default_factory=dict)  # Config fields it overrides (loss, k, d_depth, pack, ...)
    unroll: int = 0                              # > 0: the unrolled G step with this many D steps
    differentiable: bool = False                 # unrolled: backpropagate through the unrolled steps
    steps_factor: float = 1.0                    # share of cfg.max_steps it trains (costly G updates: < 1)


METHODS: dict[str, Method] = {
    "gan": Method("GAN (non-saturating)"),
    # Metz et al.: K = 5 unrolled Adam steps of D, differentiated through; an update costs ~10 plain ones
    "unrolled": Method("unrolled GAN (K=5, differentiable)", unroll=5, differentiable=True, steps_factor=0.5),
    "unrolled-cheap": Method("unrolled GAN (K=5, cheap)", unroll=5, steps_factor=0.5),
    # Gulrajani et al.: 5 critic steps per G update, lambda = 10, Adam beta2 = 0.9, and a critic with 3 hidden
    # layers as in their toy experiments (with a one-layer critic WGAN-GP does not cover the ring)
    "wgan-gp": Method("WGAN-GP (k=5, 3-layer critic)",
                      changes=dict(loss="wgan-gp", k=5, lr=1e-3, beta2=0.9, d_depth=3), steps_factor=0.5),
    # Lin et al.: D judges pairs of samples
    "pacgan": Method("PacGAN2 (D sees pairs)", changes=dict(pack=2)),
}


def method_config(cfg: Config, method: str) -> Config:
    """``cfg`` with ``METHODS[method]``'s changes applied (its name appended, ``max_steps`` and
    ``snapshot_every`` scaled by its ``steps_factor``)."""
    if method not in METHODS:
        raise KeyError(f"Unknown method {method!r}; choose one of: {', '.join(METHODS)}.")
    m = METHODS[method]
    out = cfg.replace(name=f"{cfg.name}/{method}", **m.changes)
    if m.steps_factor != 1.0 and cfg.max_steps:
        out = out.replace(max_steps=max(1, round(cfg.max_steps * m.steps_factor)),
                          snapshot_every=max(1, round(cfg.snapshot_every * m.steps_factor)))
    return out


@dataclass
class LabResult:
    """A finished lab run: the Run, the method, the final metrics and the modes / HQ trace over training."""

    method: str
    run: Run
    metrics: dict                                # mode_metrics of n_eval fresh samples at the end
    trace: list                                  # (G update, modes, hq) at every snapshot
    seconds: float                               # wall time of fit

    def summary(self) -> str:
        """One line: the method, modes covered, high-quality share and time."""
        m = self.metrics
        return (f"{METHODS[self.method].label:<36} modes {m['modes']}/{len(m['counts'])}, "
                f"HQ {100 * m['hq']:.1f}%, {self.seconds:.0f} s")


def lab_run(cfg: Config, data: TensorData, method: str = "gan", frames: bool = True, n_eval: int = 2500,
            progress: bool = True, cache: str | None = None) -> LabResult:
    """Train ``method`` on the toy ``data`` (from :func:`data`, with ``.centers`` and ``.std``) with ``fit``.

    The configuration is ``method_config(cfg, method)`` (its ``lr_decay`` makes both learning rates fall
    linearly). With ``frames`` every snapshot is a :func:`frame`; without, snapshots are blank
    (benchmarks). The trace holds the metrics of the fixed-noise samples at each snapshot; the final
    metrics use ``n_eval`` fresh samples (seed 0). ``cache``: a name for :func:`ganlib.cache.memo`, which
    saves the result under ``$GANLIB_RUNS/cache`` and loads it when called again with the same settings.
    """
    if cache:
        return memo(cache, (cfg, data, method, frames, n_eval),
                    lambda: lab_run(cfg, data, method, frames, n_eval, progress))
    cfg = method_config(cfg, method)  # raises for an unknown method
    m = METHODS[method]
    G, D = build(cfg)
    trace: list = []
    shown = data.x[: cfg.chapter.n_shown]

    def snapshot(run):
        with eval_mode(run.G):
            fake = run.G(run.fixed_noise, run.fixed_labels).float().cpu()
        mm = mode_metrics(fake, data.centers, data.std)
        trace.append((run.step, mm["modes"], mm["hq"]))
        if not frames:
            return blank_frame(run)
        return frame(run, data.centers, shown, std=data.std, title=f"{m.label}: G update {run.step}")

    step = Unrolled(data, m.unroll, m.differentiable) if m.unroll else GANStep()
    t0 = time.perf_counter()
    run = fit(G, D, data, cfg, snapshot=snapshot, step=step, progress=progress)
    seconds = time.perf_counter() - t0
    final = mode_metrics(generate(run.G, n_eval, cfg.nz, seed=0), data.centers, data.std)
    return LabResult(method, run, final, trace, seconds)


# ---------------------------------------------------------------- D's feedback near equilibrium
class MixtureGenerator(nn.Module):
    """A generator with a single weight, the scale ``s``: it draws the toy mixture with every centre moved
    to ``s`` times its place, ``G(z) = s * c_k + std * (z_1, z_2)`` with mode ``k = floor(K * Phi(z_3))``.

    ``z (B, nz >= 3)`` (or ``(B, nz, 1, 1)``) -> points ``(B, 2)``; ``y`` is ignored. With ``s = 1`` it draws
    exactly the data's distribution (p_g = p_data: the generator the game is meant to end at); with ``s < 1``
    its modes sit on a smaller ring (or grid). ``dL_G / ds`` is then the whole of the feedback D gives G.

    Taught in: "Challenges" (what D's feedback is worth when D is at chance).
    """

    def __init__(self, centers: torch.Tensor, std: float, scale: float = 1.0):
        super().__init__()
        self.register_buffer("centers", torch.as_tensor(centers, dtype=torch.float32).clone())
        self.std = float(std)
        self.scale = nn.Parameter(torch.tensor(float(scale)))

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        z = z.reshape(z.shape[0], -1)
        if z.shape[1] < 3:
            raise ValueError(f"MixtureGenerator needs nz >= 3 (two for the offset, one for the mode); got {z.shape[1]}.")
        k = (torch.special.ndtr(z[:, 2]) * len(self.centers)).long().clamp(max=len(self.centers) - 1)
        return self.scale * self.centers[k] + self.std * z[:, :2]


@dataclass
class Feedback:
    """What a trained D tells G, for generators of several scales and Ds of several seeds (:func:`feedback`).

    ``rows``: one dict per (scale, seed): ``scale``, ``seed``, ``accuracy`` (D's accuracy on fresh real and
    fake points, 0.5 = chance), ``D(x)``, ``D(G(z))`` (means) and ``grad`` (dL_G / ds, the feedback).
    ``points[scale]``: ``(P, 2)`` samples of that generator; ``arrows[(scale, seed)]``: ``(P, 2)`` the
    gradient of D's logit with respect to x at those points (the direction D pushes each sample).
    """

    rows: list
    points: dict
    arrows: dict

    def summary(self) -> list[dict]:
        """One row per scale: mean accuracy, mean D(G(z)), the feedback's mean and spread over the seeds,
        their ratio |mean| / std (the signal-to-noise ratio of what G is told), and how well the seeds' Ds
        agree on the direction each sample should move (mean cosine between their arrows, over pairs of
        seeds and probe points: 1 = the same direction, 0 = unrelated)."""
        out = []
        for scale in dict.fromkeys(r["scale"] for r in self.rows):
            mine = [r for r in self.rows if r["scale"] == scale]
            g = np.array([r["grad"] for r in mine])
            sd = float(g.std(ddof=1)) if len(g) > 1 else float("nan")
            seeds = [r["seed"] for r in mine]
            cos = [float(torch.cosine_similarity(self.arrows[(scale, a)], self.arrows[(scale, b)], dim=1).mean())
                   for i, a in enumerate(seeds) for b in seeds[i + 1:]]
            out.append({"scale s": scale, "D accuracy": float(np.mean([r["accuracy"] for r in mine])),
                        "D(G(z))": float(np.mean([r["D(G(z))"] for r in mine])),
                        "dL_G/ds mean": float(g.mean()), "dL_G/ds std over seeds": sd,
                        "|mean| / std": abs(float(g.mean())) / sd if sd > 0 else float("inf"),
                        "direction agreement": float(np.mean(cos)) if cos else float("nan")})
        return out


def feedback(cfg: Config, data: TensorData, scales=(0.8, 0.9, 1.0, 1.1), seeds=(0, 1, 2), n: int = 4096,
             n_points: int = 48, cache: str | None = None) -> Feedback:
    """Train a fresh D (``build(cfg)``'s, ``cfg.max_steps`` steps with G frozen, ``steps.FrozenG``) against a
    :class:`MixtureGenerator` of each scale, once per seed, and measure the feedback G would get.

    For each (scale, seed): D's accuracy on ``n`` fresh real and ``n`` fresh fake points, the mean D(x) and
    D(G(z)), and ``dL_G/ds`` (``cfg.loss``'s G loss on the ``n`` fakes). ``cfg.nz`` must be >= 3. Far from the
    data every seed's D says the same thing (push s towards 1); at s = 1 D is at chance and what it says
    depends on its seed: noise. ``cache``: a name for :func:`ganlib.cache.memo` (see :func:`lab_run`).
    """
    from .steps import FrozenG

    if cache:
        return memo(cache, (cfg, data, list(scales), list(seeds), n, n_points),
                    lambda: feedback(cfg, data, scales, seeds, n, n_points))

    if cfg.nz < 3:
        raise ValueError(f"feedback needs cfg.nz >= 3 for the MixtureGenerator; got nz={cfg.nz}.")
    rows, points, arrows = [], {}, {}
    for scale in scales:
        for seed in seeds:
            c = cfg.replace(seed=seed)
            G = MixtureGenerator(data.centers, data.std, scale)
            _, D = build(c)
            run = fit(G, D, data, c, step=FrozenG(), snapshot=blank_frame, progress=False)
            gen = torch.Generator().manual_seed(10_000 + seed)
            z = torch.randn(n, cfg.nz, generator=gen)
            real = mixture(n, data.centers, data.std, gen)
            fake_out = run.D(run.G(z))  # the toy nets have no BatchNorm or dropout: train mode is eval mode
            grad, = torch.autograd.grad(run.loss.g(fake_out), run.G.scale)
            with torch.no_grad():  # the same probe points for every seed, so the seeds' arrows compare
                at = run.G(torch.randn(n_points, cfg.nz, generator=torch.Generator().manual_seed(0)))
            at.requires_grad_(True)
            arrow, = torch.autograd.grad(run.D(at).sum(), at)
            with torch.no_grad():
                real_out = run.D(real)
                accuracy = 0.5 * (float((real_out > 0).float().mean()) + float((fake_out < 0).float().mean()))
                rows.append({"scale": float(scale), "seed": seed, "accuracy": accuracy,
                             "D(x)": float(torch.sigmoid(real_out).mean()),
                             "D(G(z))": float(torch.sigmoid(fake_out).mean()), "grad": float(grad)})
            points[float(scale)] = at.detach()
            arrows[(float(scale), seed)] = arrow.detach()
    return Feedback(rows, points, arrows)
