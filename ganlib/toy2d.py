"""The 2-D toy problems: mixtures of Gaussians on a ring or a grid, small MLP GANs for them, the mode
metrics, and the GAN Lab view (G's samples over the data, on top of D's decision surface).

* :func:`ring` / :func:`ring_centers` -- ``n_modes`` Gaussians evenly spaced on a circle (Metz et al. 2017).
* :func:`grid` / :func:`grid_centers` -- a ``side x side`` grid of Gaussians (Srivastava et al. 2017).
* :func:`data` -- either one as :class:`ganlib.data.TensorData`, ready for :func:`ganlib.train.fit`.
* :class:`Generator2d` / :class:`Discriminator2d` and :func:`build` -- the MLPs, ``G(z) -> (B, 2)``,
  ``D(x) -> logits (B,)`` (``pack > 1``: PacGAN's D, one logit per pack of samples).
* :func:`mode_metrics` -- modes covered and the share of high-quality samples.
* :func:`frame` -- one uint8 picture of a run's state; pass ``snapshot=lambda run: frame(run, centers)``
  to ``fit`` and play the frames with ``gl.viz.player``.
* :class:`GradientProbe` -- a G step for ``fit`` that freezes G and records its gradient norms.
* :data:`METHODS` / :func:`lab_run` -- the mode-collapse lab: the plain GAN and its remedies (unrolled GAN,
  WGAN-GP, PacGAN), each trained by ``fit`` on the same data and scored by :func:`mode_metrics`.

Taught in: "Challenges" (mode collapse and its remedies), "Variants" (every loss on the ring).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .config import Config
from .data import TensorData

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


def grid(n: int, side: int = 5, spacing: float = 2.0, std: float = 0.05,
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
    """The standard deviation :func:`ring` (0.02) or :func:`grid` (0.05) uses by default."""
    return {"ring": 0.02, "grid": 0.05}[kind]


def data(kind: str = "ring", n: int = 10_000, seed: int = 0, **kwargs) -> TensorData:
    """``n`` samples of ``kind`` (``ring`` or ``grid``) as :class:`TensorData` for ``fit``.

    ``kwargs`` go to :func:`ring` / :func:`grid` (e.g. ``std=0.05``). The returned object also carries
    ``.centers (K, 2)`` and ``.std``, which :func:`mode_metrics` and :func:`frame` need.
    """
    if kind not in KINDS:
        raise ValueError(f"Unknown toy data kind {kind!r}; use one of {', '.join(KINDS)}.")
    generator = torch.Generator().manual_seed(seed)
    x = (ring if kind == "ring" else grid)(n, generator=generator, **kwargs)
    std = kwargs.get("std", default_std(kind))
    out = TensorData(x, source=f"{kind} of Gaussians, std {std}, {n} points (seed {seed})")
    out.centers, out.std, out.kind = centers(kind, **kwargs), std, kind
    return out


# ---------------------------------------------------------------- models
def _mlp(d_in: int, width: int, depth: int, d_out: int, act) -> nn.Sequential:
    if depth < 1 or width < 1:
        raise ValueError(f"An MLP needs depth >= 1 and width >= 1 (got depth={depth}, width={width}).")
    layers, d = [], d_in
    for _ in range(depth):
        layers += [nn.Linear(d, width), act()]
        d = width
    layers.append(nn.Linear(d, d_out))
    return nn.Sequential(*layers)


class Generator2d(nn.Module):
    """z ``(B, nz)`` -> ``depth`` hidden ReLU layers of ``width`` -> a point ``(B, 2)`` (linear output, no tanh:
    the toy data is not confined to [-1, 1]). ``y`` is accepted and ignored (fit's calling convention)."""

    def __init__(self, nz: int = 2, width: int = 128, depth: int = 2):
        super().__init__()
        self.nz = nz
        self.main = _mlp(nz, width, depth, 2, nn.ReLU)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.main(z.reshape(z.shape[0], self.nz))


class Discriminator2d(nn.Module):
    """A point ``(B, 2)`` -> ``depth`` hidden ReLU layers of ``width`` -> one logit ``(B,)`` (or critic score).

    With ``pack = m > 1`` it is PacGAN's discriminator (Lin et al. 2018): it judges ``m`` samples at once,
    the batch ``(B, 2)`` read as ``B / m`` packs ``(B / m, 2m)``, and returns one logit per pack ``(B / m,)``.
    A pack of fakes from a collapsed G has ``m`` near-identical points, which real packs rarely have, so D
    can see the collapse that a one-sample D cannot. The losses are batch means, so they work unchanged.
    """

    def __init__(self, width: int = 128, depth: int = 2, pack: int = 1):
        super().__init__()
        if pack < 1:
            raise ValueError(f"pack must be at least 1, got {pack}.")
        self.pack = pack
        self.main = _mlp(2 * pack, width, depth, 1, nn.ReLU)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if x.shape[0] % self.pack:
            raise ValueError(f"A packed discriminator (pack={self.pack}) needs a batch size divisible by "
                             f"{self.pack}; got {x.shape[0]}. Change cfg.batch_size.")
        return self.main(x.reshape(x.shape[0] // self.pack, 2 * self.pack)).view(-1)


def build(cfg: Config) -> tuple[nn.Module, nn.Module]:
    """``(Generator2d(cfg.nz, cfg.ngf, g_depth), Discriminator2d(cfg.ndf, d_depth))``, seeded with ``cfg.seed``.

    Depths come from ``cfg.extra``: ``g_depth`` and ``d_depth`` (each defaulting to ``depth``, default 2);
    ``cfg.extra["pack"]`` (default 1) makes D a PacGAN discriminator.
    PyTorch's default initialisation is kept (the DCGAN N(0, 0.02) init is meant for conv nets).
    """
    depth = cfg.extra.get("depth", 2)
    torch.manual_seed(cfg.seed)
    G = Generator2d(cfg.nz, cfg.ngf, cfg.extra.get("g_depth", depth))
    D = Discriminator2d(cfg.ndf, cfg.extra.get("d_depth", depth), cfg.extra.get("pack", 1))
    return G, D


def samples(G: nn.Module, n: int, nz: int, seed: int = 0) -> torch.Tensor:
    """``n`` points ``(n, 2)`` from ``G`` for fresh standard normal noise (eval mode, no gradients)."""
    from .metrics import generate

    return generate(G, n, nz, seed=seed)


# ---------------------------------------------------------------- a G step that only measures
class GradientProbe:
    """A ``g_step_fn`` for ``fit`` that leaves G as it is and records how strong G's gradient would be.

    With it, ``fit`` trains D alone against a frozen G (G's optimiser never steps), and for every G update
    the probe records ``||grad_theta_G L_G||`` (over all of G's weights) for each loss in ``losses``, on the
    same batch. ``norms[name][i]`` and ``d_fake[i]`` (mean D(G(z)), a probability) belong to G update ``i``.
    Works for any G and D, not only the 2-D ones.

    Taught in: "Challenges" (vanishing gradients).
    """

    def __init__(self, losses=("minimax", "non-saturating")):
        from .losses import get

        self.losses = {name: get(name) for name in losses}
        self.norms = {name: [] for name in losses}
        self.d_fake = []

    def __call__(self, G: nn.Module, D: nn.Module, opt_g, z: torch.Tensor, loss, y_fake=None) -> dict:
        from .losses import get

        loss = get(loss)
        params = [p for p in G.parameters() if p.requires_grad]
        fake_out = D(G(z, y_fake), y_fake)
        for name, probe in self.losses.items():
            grads = torch.autograd.grad(probe.g(fake_out), params, retain_graph=True)
            self.norms[name].append(float(torch.sqrt(sum((g ** 2).sum() for g in grads))))
        self.d_fake.append(float(torch.sigmoid(fake_out.detach()).mean()))
        return {"loss_g": float(loss.g(fake_out.detach())), "d_g_z2": loss.stat(fake_out.detach())}


# ---------------------------------------------------------------- metrics
def mode_metrics(samples: torch.Tensor, centers: torch.Tensor, std: float, n_std: float = 3.0,
                 min_share: float = 0.01) -> dict:
    """How well ``samples (N, 2)`` cover the mixture with ``centers (K, 2)`` and standard deviation ``std``.

    A sample is *high quality* when it lies within ``n_std`` standard deviations of some centre; a mode is
    *covered* when at least ``min_share`` of all samples are high-quality samples of that mode (the
    definitions of Srivastava et al. 2017, with 3 std and 1%). A mode is *reached* when it is the nearest
    centre of at least ``min_share`` of the samples, however far they are: a generator that has spread over
    the data but not yet sharpened onto the modes reaches many and covers few. Returns ``{"modes": int
    covered, "reached": int, "hq": float share of high-quality samples, "counts": list of the K per-mode
    counts of high-quality samples, "n": N}``.
    """
    samples = torch.as_tensor(samples, dtype=torch.float32).detach().cpu()
    centers = torch.as_tensor(centers, dtype=torch.float32).cpu()
    if samples.dim() != 2 or samples.shape[1] != centers.shape[1] or len(samples) == 0:
        raise ValueError(f"mode_metrics wants samples (N, {centers.shape[1]}) with N > 0, got {tuple(samples.shape)}.")
    dist = torch.cdist(samples, centers)              # (N, K)
    nearest, which = dist.min(dim=1)                  # (N,)
    good = nearest <= n_std * std
    counts = torch.bincount(which[good], minlength=len(centers))
    covered = int((counts >= min_share * len(samples)).sum())
    reached = int((torch.bincount(which, minlength=len(centers)) >= min_share * len(samples)).sum())
    return {"modes": covered, "reached": reached, "hq": float(good.float().mean()), "counts": counts.tolist(),
            "n": len(samples)}


def evaluate(G: nn.Module, nz: int, centers: torch.Tensor, std: float, n: int = 2500, seed: int = 0) -> dict:
    """:func:`mode_metrics` of ``n`` fresh samples of ``G``."""
    return mode_metrics(samples(G, n, nz, seed), centers, std)


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
    was_training = D.training
    D.eval()
    with torch.no_grad():
        raw = D(pts.to(where)).float().cpu().view(resolution, resolution)
    D.train(was_training)
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

    from .losses import get

    centers = torch.as_tensor(centers, dtype=torch.float32).cpu()
    if limits is None:
        limits = float(centers.abs().max()) + 1.0
    values, _ = surface(run.D, limits, probabilities=get(run.cfg.loss).probabilities)
    img = Image.fromarray(_colormap(values)).resize((size, size), Image.BILINEAR)
    draw = ImageDraw.Draw(img)
    scale = size / (2 * limits)

    def to_px(p: torch.Tensor) -> np.ndarray:  # (N, 2) data coords -> (N, 2) pixel coords (y down)
        p = p.detach().float().cpu().numpy()
        return np.stack([(p[:, 0] + limits) * scale, (limits - p[:, 1]) * scale], axis=1)

    if data_points is not None:
        for x, y in to_px(torch.as_tensor(data_points)):
            draw.rectangle([x - 1, y - 1, x + 1, y + 1], fill=REAL_RGB)
    G = run.G
    was_training = G.training
    G.eval()
    with torch.no_grad():
        fake = G(run.fixed_noise, run.fixed_labels).float().cpu()
    G.train(was_training)
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
def linear_decay(final: float = 0.1):
    """An ``on_step_end`` callback: both learning rates fall linearly from ``cfg.lr`` to ``final * cfg.lr``
    at ``cfg.max_steps`` G updates (the run needs ``max_steps``). A lower learning rate at the end lets G
    settle its samples onto the modes instead of jittering around them."""
    def decay(run) -> None:
        if not run.cfg.max_steps:
            raise ValueError("linear_decay needs cfg.max_steps (the G update at which lr reaches its final value).")
        lr = run.cfg.lr * (1 - (1 - final) * min(1.0, run.step / run.cfg.max_steps))
        for opt in (run.opt_g, run.opt_d):
            for group in opt.param_groups:
                group["lr"] = lr
    return decay


@dataclass(frozen=True)
class Method:
    """One way of training the 2-D GAN: what it changes in the configuration and in the G step."""

    label: str                                   # how tables and plots name it
    changes: dict = field(default_factory=dict)  # Config fields it overrides
    extra: dict = field(default_factory=dict)    # cfg.extra entries it overrides (e.g. pack)
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
    "wgan-gp": Method("WGAN-GP (k=5, 3-layer critic)", changes=dict(loss="wgan-gp", k=5, lr=1e-3, beta2=0.9),
                      extra=dict(d_depth=3), steps_factor=0.5),
    # Lin et al.: D judges pairs of samples
    "pacgan": Method("PacGAN2 (D sees pairs)", extra=dict(pack=2)),
}


def method_config(cfg: Config, method: str) -> Config:
    """``cfg`` with ``METHODS[method]``'s changes applied (its name appended, ``max_steps`` and
    ``snapshot_every`` scaled by its ``steps_factor``)."""
    if method not in METHODS:
        raise KeyError(f"Unknown method {method!r}; choose one of: {', '.join(METHODS)}.")
    m = METHODS[method]
    out = cfg.replace(name=f"{cfg.name}/{method}", **m.changes, extra={**cfg.extra, **m.extra})
    if m.steps_factor != 1.0 and cfg.max_steps:
        out = out.replace(max_steps=max(1, round(cfg.max_steps * m.steps_factor)),
                          snapshot_every=max(1, round(cfg.snapshot_every * m.steps_factor)))
    return out


@dataclass
class LabResult:
    """A finished lab run: the Run, the method, the final metrics and the modes / HQ trace over training."""

    method: str
    run: object                                  # ganlib.train.Run
    metrics: dict                                # mode_metrics of n_eval fresh samples at the end
    trace: list                                  # (G update, modes, hq) at every snapshot
    seconds: float                               # wall time of fit


def lab_run(cfg: Config, data: TensorData, method: str = "gan", frames: bool = True, n_eval: int = 2500,
            progress: bool = False) -> LabResult:
    """Train ``method`` on the toy ``data`` (from :func:`data`, with ``.centers`` and ``.std``) with ``fit``.

    The configuration is ``method_config(cfg, method)``; ``cfg.extra["lr_decay"]`` (if set) is the final
    learning-rate factor of :func:`linear_decay`. With ``frames`` every snapshot is a :func:`frame`; without,
    snapshots are 1-pixel placeholders (benchmarks). The trace holds the metrics of the fixed-noise samples at
    each snapshot; the final metrics use ``n_eval`` fresh samples (seed 0).
    """
    import time

    from .train import fit, g_step
    from .unrolled import unrolled_g_step

    cfg = method_config(cfg, method)  # raises for an unknown method
    m = METHODS[method]
    G, D = build(cfg)
    trace: list = []
    shown = data.x[: cfg.extra.get("n_shown", 500)]

    def snapshot(run):
        with torch.no_grad():
            was = run.G.training
            run.G.eval()
            fake = run.G(run.fixed_noise, run.fixed_labels).float().cpu()
            run.G.train(was)
        mm = mode_metrics(fake, data.centers, data.std)
        trace.append((run.step, mm["modes"], mm["hq"]))
        if not frames:
            return np.zeros((1, 1, 3), np.uint8)
        return frame(run, data.centers, shown, std=data.std, title=f"{m.label}: G update {run.step}")

    callbacks = {}
    if cfg.extra.get("lr_decay"):
        callbacks["on_step_end"] = linear_decay(cfg.extra["lr_decay"])
    step = unrolled_g_step(data, m.unroll, m.differentiable) if m.unroll else g_step
    t0 = time.perf_counter()
    run = fit(G, D, data, cfg, snapshot=snapshot, g_step_fn=step, callbacks=callbacks, progress=progress)
    seconds = time.perf_counter() - t0
    return LabResult(method, run, evaluate(run.G, cfg.nz, data.centers, data.std, n=n_eval), trace, seconds)
