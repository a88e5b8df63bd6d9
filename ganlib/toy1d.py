"""A GAN you can see: 1-D data, small MLPs, and Goodfellow's Fig. 1 redrawn at every snapshot.

* :class:`Generator1D` ``G(z, y=None)``: noise ``(B, nz)`` -> points ``(B, 1)``;
  :class:`Discriminator1D` ``D(x, y=None)``: points ``(B, 1)`` -> logits ``(B,)``; :func:`build` makes both.
* :func:`dataset`: samples of a :class:`ganlib.theory.Mixture` as ``TensorData`` ``(N, 1)`` for ``fit``.
* :func:`pushforward_density`: p_g, the density of G(z), as a histogram; with ``nz = 1`` it pushes a fine
  grid of noise quantiles through G, so it carries no sampling noise at all.
* :func:`snapshotter`: the ``snapshot`` hook of ``fit``; each frame shows p_data, p_g, D(x) and D*(x) for
  the current G, and the map z -> x = G(z) underneath (Goodfellow et al. 2014, Fig. 1; source 001, Fig. 4).
* :func:`frozen_g_step`: a ``g_step_fn`` for ``fit`` that leaves G alone, so that ``fit`` trains D by
  itself towards D*; :func:`d_star_gap` measures how close it got.
* :func:`fit_quantile_map`: chapter 1's "generator as a learned mapping", fitted without a discriminator.

Taught in: "Generative models" (the learned inverse CDF), "Training on a 1-D toy" (everything else).
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from scipy import special
from torch import nn

from . import theory
from .config import Config, seed_everything
from .data import TensorData
from .losses import Loss


# ---------------------------------------------------------------- models
class SmoothLeakyReLU(nn.Module):
    """slope * x + (1 - slope) * softplus(sharpness * x) / sharpness: a LeakyReLU with the kink rounded off
    over about 1 / sharpness.

    Its slope stays in [slope, 1], so a generator built from it is smooth *and* never flat: p_g has neither
    the jumps of a piecewise-linear G (LeakyReLU: p_g piecewise constant) nor the cliff of a G whose units
    all saturate (ELU, tanh: mass piled up at an edge). Both would give D* jumps no smooth D can follow.
    """

    def __init__(self, slope: float = 0.2, sharpness: float = 1.0):
        super().__init__()
        self.slope, self.sharpness = slope, sharpness

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.slope * x + (1.0 - self.slope) * F.softplus(x, beta=self.sharpness)


ACTIVATIONS = {"leaky_relu": lambda sharpness: nn.LeakyReLU(0.2),
               "smooth_leaky_relu": lambda sharpness: SmoothLeakyReLU(0.2, sharpness),
               "tanh": lambda sharpness: nn.Tanh(), "elu": lambda sharpness: nn.ELU()}


def _mlp(n_in: int, width: int, n_out: int, depth: int, activation: str = "leaky_relu",
         sharpness: float = 1.0) -> nn.Sequential:
    if activation not in ACTIVATIONS:
        raise ValueError(f"Unknown activation {activation!r}; use one of {', '.join(ACTIVATIONS)}.")
    layers, n = [], n_in
    for _ in range(depth):
        layers += [nn.Linear(n, width), ACTIVATIONS[activation](sharpness)]
        n = width
    return nn.Sequential(*layers, nn.Linear(n, n_out))


class Generator1D(nn.Module):
    """z ``(B, nz)`` -> x ``(B, 1)``: ``depth`` hidden layers of ``width`` units, then a linear output (the
    data are not confined to [-1, 1], so no tanh). ``activation``: a key of :data:`ACTIVATIONS`;
    ``sharpness`` is used by ``smooth_leaky_relu`` only."""

    def __init__(self, nz: int = 1, width: int = 32, depth: int = 2, activation: str = "leaky_relu",
                 sharpness: float = 1.0):
        super().__init__()
        self.nz = nz
        self.main = _mlp(nz, width, 1, depth, activation, sharpness)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.main(z.reshape(z.shape[0], self.nz))


class Discriminator1D(nn.Module):
    """x ``(B, 1)`` -> logits ``(B,)``; ``torch.sigmoid(D(x))`` is the probability that x is real."""

    def __init__(self, width: int = 64, depth: int = 2, activation: str = "leaky_relu"):
        super().__init__()
        self.main = _mlp(1, width, 1, depth, activation)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.main(x.reshape(x.shape[0], 1)).view(-1)


def build(cfg: Config) -> tuple[nn.Module, nn.Module]:
    """``(G, D)`` for a 1-D preset: widths ``cfg.ngf`` / ``cfg.ndf``; from ``cfg.extra``: ``depth`` (hidden
    layers, default 2), ``g_activation`` / ``d_activation`` (default leaky_relu), ``g_sharpness`` (default 1).
    PyTorch's default initialisation; torch is seeded with ``cfg.seed`` first."""
    torch.manual_seed(cfg.seed)
    e = cfg.extra
    return (Generator1D(cfg.nz, cfg.ngf, e.get("depth", 2), e.get("g_activation", "leaky_relu"),
                        e.get("g_sharpness", 1.0)),
            Discriminator1D(cfg.ndf, e.get("depth", 2), e.get("d_activation", "leaky_relu")))


# ---------------------------------------------------------------- data
DISTRIBUTIONS = {
    # chapter 3: two overlapping bumps; a smooth increasing G can make it, so the toy can converge
    "two-bumps": dict(weights=[0.6, 0.4], means=[-1.0, 1.3], stds=[0.6, 0.5]),
    # chapter 1: two modes with an almost empty gap: its inverse CDF has a near-jump to learn
    "gap": dict(weights=[0.4, 0.6], means=[-2.0, 1.5], stds=[0.5, 0.7]),
}


def p_data(cfg: Config) -> theory.Mixture:
    """The data distribution named by ``cfg.extra["p_data"]``: a key of :data:`DISTRIBUTIONS` or a dict
    ``{"weights": [...], "means": [...], "stds": [...]}``."""
    spec = cfg.extra.get("p_data")
    if isinstance(spec, str):
        if spec not in DISTRIBUTIONS:
            raise KeyError(f"Unknown 1-D distribution {spec!r}; use one of {', '.join(DISTRIBUTIONS)} or a dict.")
        spec = DISTRIBUTIONS[spec]
    if spec is None:
        raise KeyError(f"Preset {cfg.name!r} names no data distribution: set cfg.extra['p_data'] to one of "
                       f"{', '.join(DISTRIBUTIONS)} or to {{'weights': [...], 'means': [...], 'stds': [...]}}.")
    return theory.Mixture(spec["weights"], spec["means"], spec["stds"])


def dataset(p: theory.Mixture, n: int, seed: int = 0) -> TensorData:
    """``n`` draws from ``p`` as :class:`ganlib.data.TensorData` of shape ``(n, 1)``, float32."""
    x = torch.from_numpy(p.sample(n, np.random.default_rng(seed))).float()[:, None]
    return TensorData(x, source=f"{n} draws from p_data = {p}")


# ---------------------------------------------------------------- what G makes
def noise_grid(nz: int, n: int, seed: int = 0) -> torch.Tensor:
    """Noise ``(n, nz)`` standing for p_z = N(0, I): for ``nz = 1`` the ``n`` quantiles
    Phi^{-1}((i + 1/2) / n), an exact picture of p_z with no sampling noise; otherwise seeded draws."""
    if nz == 1:
        u = (np.arange(n) + 0.5) / n
        return torch.from_numpy(special.ndtri(u)).float()[:, None]
    return torch.randn(n, nz, generator=torch.Generator().manual_seed(seed))


def generate(G: nn.Module, z: torch.Tensor) -> np.ndarray:
    """G(z) as a float64 array ``(n,)``; G in eval mode and without gradients (its mode is restored)."""
    was = G.training
    G.eval()
    with torch.no_grad():
        x = G(z).reshape(-1).double().numpy()
    G.train(was)
    return x


def pushforward_density(G: nn.Module, edges: np.ndarray, nz: int = 1, n: int = 200_000) -> np.ndarray:
    """p_g on the bins ``edges`` ``(n_bins + 1,)``: the histogram density of G(z) for :func:`noise_grid`
    noise, shape ``(n_bins,)``. Mass that G puts outside the bins is lost (it integrates to < 1 then)."""
    x = generate(G, noise_grid(nz, n))
    counts, _ = np.histogram(x, bins=edges)
    return counts / (len(x) * np.diff(edges))


def d_prob(D: nn.Module, x: np.ndarray) -> np.ndarray:
    """sigmoid(D(x)) at the points ``x`` ``(n,)``, float64; D in eval mode, no gradients."""
    was = D.training
    D.eval()
    with torch.no_grad():
        p = torch.sigmoid(D(torch.as_tensor(x, dtype=torch.float32)[:, None])).double().numpy()
    D.train(was)
    return p


class Grid:
    """The x-axis of the toy: ``n_bins`` bins over ``x_range``; ``centres`` ``(n_bins,)`` and ``edges``."""

    def __init__(self, x_range=(-4.0, 4.0), n_bins: int = 400):
        self.edges = np.linspace(x_range[0], x_range[1], n_bins + 1)
        self.centres = 0.5 * (self.edges[1:] + self.edges[:-1])
        self.x_range = tuple(x_range)

    @classmethod
    def from_config(cls, cfg: Config) -> "Grid":
        """The grid named by ``cfg.extra`` (``x_range``, ``n_bins``)."""
        return cls(cfg.extra.get("x_range", (-4.0, 4.0)), cfg.extra.get("n_bins", 400))


def state(G: nn.Module, D: nn.Module, p: theory.Mixture, grid: Grid, nz: int = 1) -> dict:
    """Everything the Fig.-1 picture needs, on ``grid.centres``: ``p_data``, ``p_g`` (histogram), ``d``
    (the trained D), ``d_star`` (= p_data / (p_data + p_g) for the current G) and ``jsd`` (nats)."""
    pd, pg = p.pdf(grid.centres), pushforward_density(G, grid.edges, nz)
    return {"x": grid.centres, "p_data": pd, "p_g": pg, "d": d_prob(D, grid.centres),
            "d_star": theory.d_star_from_densities(pd, pg), "jsd": theory.jsd_on_grid(pd, pg, grid.centres)}


def mass_region(s: dict, coverage: float = 0.95) -> np.ndarray:
    """Where the mixture m = (p_data + p_g) / 2 of a :func:`state` carries its mass: the central interval
    holding ``coverage`` of it (from its (1 - coverage)/2 quantile to its (1 + coverage)/2 quantile),
    as a boolean mask ``(n_bins,)``. Outside it there are too few samples of either kind to pin D down."""
    m = 0.5 * (s["p_data"] + s["p_g"])
    cdf = np.cumsum(m) / m.sum()
    tail = 0.5 * (1.0 - coverage)
    return (cdf >= tail) & (cdf <= 1.0 - tail)


def d_star_gap(G: nn.Module, D: nn.Module, p: theory.Mixture, grid: Grid, nz: int = 1,
               coverage: float = 0.95, reduce=np.max) -> tuple[float, np.ndarray]:
    """max |sigmoid(D(x)) - D*(x)| over :func:`mass_region` (``reduce=np.mean`` for the mean instead).
    Returns ``(gap, mask)``; ``mask`` ``(n_bins,)`` marks the points compared."""
    s = state(G, D, p, grid, nz)
    mask = mass_region(s, coverage)
    return float(reduce(np.abs(s["d"] - s["d_star"])[mask])), mask


def loss_d_on_fresh_samples(G: nn.Module, D: nn.Module, p: theory.Mixture, loss: Loss, n: int = 100_000,
                            seed: int = 1) -> float:
    """Loss_D of ``loss`` on ``n`` new real draws and ``n`` new fakes (not seen in training)."""
    real = torch.from_numpy(p.sample(n, np.random.default_rng(seed))).float()[:, None]
    fake = torch.from_numpy(generate(G, torch.randn(n, G.nz, generator=torch.Generator().manual_seed(seed))))
    with torch.no_grad():
        return float(loss.d(D(real), D(fake.float()[:, None])))


# ---------------------------------------------------------------- the picture (Goodfellow et al. 2014, Fig. 1)
def draw(s: dict, grid: Grid, G: nn.Module | None = None, nz: int = 1, title: str = "", y_max: float | None = None,
         n_lines: int = 25, mass: float = 0.01):
    """Goodfellow's Fig. 1 for a state ``s`` from :func:`state`: p_data (black dots), p_g (green, clipped at
    ``y_max``), D (blue dashes), D* (red; drawn only where (p_data + p_g) / 2 is at least ``mass`` times its
    peak) and below, if ``G`` is given and ``nz = 1``, the map from equally likely noise values (lower line)
    to x = G(z) (upper line). Returns the matplotlib figure."""
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    mapping = G is not None and nz == 1
    fig, axes = plt.subplots(2 if mapping else 1, 1, figsize=(7, 4.6 if mapping else 3.8), sharex=True,
                             gridspec_kw={"height_ratios": [4, 1]} if mapping else None, squeeze=False)
    ax = axes[0, 0]
    y_max = y_max or 1.35 * max(1.0, s["p_data"].max())
    x = s["x"]
    ax.fill_between(x, np.minimum(s["p_g"], y_max), color="tab:green", alpha=0.3, lw=0)
    ax.plot(x, np.minimum(s["p_g"], y_max), color="tab:green", lw=1.5, label=r"$p_g$ (generator)")
    ax.plot(x, s["p_data"], color="black", ls=":", lw=2, label=r"$p_{\mathrm{data}}$")
    ax.plot(x, s["d"], color="tab:blue", ls="--", lw=2, label=r"$D(x)$ (trained)")
    m = 0.5 * (s["p_data"] + s["p_g"])
    d_star = np.where(m >= mass * m.max(), s["d_star"], np.nan)  # D* means little where neither has mass
    ax.plot(x, d_star, color="tab:red", lw=1.2, alpha=0.9, label=r"$D^*(x)=p_{\mathrm{data}}/(p_{\mathrm{data}}+p_g)$")
    ax.axhline(0.5, color="gray", lw=0.6, ls="-.")
    ax.set_xlim(*grid.x_range)
    ax.set_ylim(0, y_max)
    ax.legend(loc="upper left", fontsize=8, framealpha=0.85)
    ax.set_title(f"{title}   JSD(p_data, p_g) = {s['jsd']:.3f} nats" if title else f"JSD = {s['jsd']:.3f}",
                 fontsize=10)
    if mapping:
        low = axes[1, 0]
        u = (np.arange(n_lines) + 0.5) / n_lines
        xz = generate(G, torch.from_numpy(special.ndtri(u)).float()[:, None])
        lo, hi = grid.x_range
        starts = lo + (hi - lo) * u
        low.add_collection(LineCollection([[(a, 0.0), (b, 1.0)] for a, b in zip(starts, xz)], colors="gray",
                                          linewidths=0.7))
        low.plot(np.clip(xz, lo, hi), np.ones_like(xz), "^", color="gray", ms=3)  # arrow heads, cheaply
        low.axhline(0.0, color="black", lw=1)
        low.axhline(1.0, color="black", lw=1)
        low.set_ylim(-0.15, 1.15)
        low.set_yticks([0, 1], ["z", "x"])
        low.set_xlabel("x   (lower line: noise quantiles, equally likely; arrows: x = G(z))")
    else:
        ax.set_xlabel("x")
    fig.tight_layout()
    return fig


def snapshotter(p: theory.Mixture, grid: Grid, nz: int = 1, label: str = "G update", dpi: int = 80,
                y_max: float | None = None):
    """The ``snapshot`` hook for ``fit``: ``fn(run) -> uint8 (H, W, 3)`` Fig.-1 frame of the run's G and D,
    titled "<label> <run.step>"."""
    from .viz import figure_to_array

    def snapshot(run) -> torch.Tensor:
        fig = draw(state(run.G, run.D, p, grid, nz), grid, run.G, nz, f"{label} {run.step}", y_max)
        return torch.from_numpy(figure_to_array(fig, dpi=dpi).copy())

    return snapshot


def blank_frame(run) -> torch.Tensor:
    """A 1x1 black frame: the ``snapshot`` hook for runs whose pictures nobody will look at (saves time)."""
    return torch.zeros(1, 1, 3, dtype=torch.uint8)


# ---------------------------------------------------------------- training helpers (all through ganlib.fit)
def frozen_g_step(G: nn.Module, D: nn.Module, opt_g, z: torch.Tensor, loss: Loss,
                  y_fake: torch.Tensor | None = None) -> dict:
    """A ``g_step_fn`` for ``fit`` that does **not** update G: it only reports ``loss_g`` and ``d_g_z2``.

    With it, ``fit`` runs D's steps alone -- plain supervised training of a real-vs-fake classifier whose
    best answer is D*.
    """
    with torch.no_grad():
        out = D(G(z, y_fake), y_fake)
        return {"loss_g": float(loss.g(out)), "d_g_z2": loss.stat(out)}


def frozen_config(cfg: Config) -> Config:
    """The configuration of the D-only phase of a toy preset: one D step per (frozen) G update,
    ``frozen_steps`` of them on batches of ``frozen_batch``, Adam with ``frozen_lr`` and ``frozen_beta1``
    (the usual 0.9: this is plain supervised learning), ``frozen_frames`` snapshots (default 10). Its
    ``num_epochs`` is what ``frozen_steps`` batches take on data of ``cfg.n_train`` samples."""
    e = cfg.extra
    steps = e["frozen_steps"]
    return cfg.replace(k=1, max_steps=steps, batch_size=e["frozen_batch"], lr=e["frozen_lr"], beta1=e["frozen_beta1"],
                       num_epochs=math.ceil(steps / max(1, cfg.n_train // e["frozen_batch"])),
                       snapshot_every=max(1, steps // e.get("frozen_frames", 10)), log_every=steps)


def cosine_lr(total: int, lr: float) -> dict:
    """A callback for ``fit`` that anneals D's learning rate from ``lr`` to 0 over ``total`` G updates
    (cosine schedule): the late, small steps let D settle on its optimum instead of jittering around it."""
    def on_step_end(run):
        for group in run.opt_d.param_groups:
            group["lr"] = 0.5 * lr * (1.0 + math.cos(math.pi * min(run.step, total) / total))

    return {"on_step_end": on_step_end}


def jsd_tracker(p: theory.Mixture, grid: Grid, every: int, nz: int = 1) -> tuple[dict, list]:
    """A callback for ``fit`` that records ``(step, JSD(p_data, p_g))`` every ``every`` G updates.

    Returns ``(callbacks, records)``: pass ``callbacks`` to ``fit``; ``records`` fills as it trains.
    """
    records: list = []
    pd = p.pdf(grid.centres)

    def on_step_end(run):
        if run.step % every == 0:
            pg = pushforward_density(run.G, grid.edges, nz, n=50_000)
            records.append((run.step, theory.jsd_on_grid(pd, pg, grid.centres)))

    return {"on_step_end": on_step_end}, records


class UniformNoise(nn.Module):
    """Wraps a generator so that it sees uniform noise: z ~ N(0, 1) becomes u = 2 Phi(z) - 1 ~ U(-1, 1)
    (the inverse-CDF trick of chapter 1, run backwards), then ``G(u)``. ``fit`` always draws normal noise,
    so this is how to train with a uniform prior."""

    def __init__(self, G: nn.Module):
        super().__init__()
        self.G, self.nz = G, G.nz

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.G(2.0 * torch.special.ndtr(z) - 1.0, y)


# ---------------------------------------------------------------- chapter 1: a learned inverse CDF
def fit_quantile_map(G: nn.Module, x: torch.Tensor, steps: int, batch_size: int = 512, lr: float = 1e-2,
                     seed: int = 0) -> list:
    """Fit ``G`` so that G(U), U ~ Uniform(0, 1), is distributed like the samples ``x`` ``(N,)`` -- no GAN.

    Quantile regression: sorting the N data gives their empirical inverse CDF, u -> the ceil(uN)-th
    smallest x. Each step draws a batch of u ``(B, 1)`` and pulls G(u) towards that quantile (mean squared
    error), with Adam and a cosine-annealed learning rate. The target is the closed form of chapter 1,
    F_X^{-1}(u), read off the data instead of a formula; the data never say *which* x belongs to which u
    except through this ordering. Returns the loss per step. (A regression, not adversarial training: GANs
    train with ``fit``.)
    """
    gen = seed_everything(seed)
    opt = torch.optim.Adam(G.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    xs = torch.sort(x.reshape(-1).float()).values  # the empirical quantile function, tabulated
    out = []
    for _ in range(steps):
        u = torch.rand(batch_size, 1, generator=gen)
        target = xs[(u[:, 0] * len(xs)).long().clamp(max=len(xs) - 1)]
        loss = F.mse_loss(G(u).reshape(-1), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        out.append(loss.item())
    return out


def wasserstein1(a: np.ndarray, b: np.ndarray) -> float:
    """The 1-Wasserstein distance between two samples (``scipy.stats.wasserstein_distance``)."""
    from scipy.stats import wasserstein_distance

    return float(wasserstein_distance(np.ravel(a), np.ravel(b)))
