"""A GAN you can see: 1-D data, small MLPs, and Goodfellow's Fig. 1 redrawn at every snapshot.

The networks are ``gl.models.build(cfg)`` with ``arch="mlp1d"``: ``G(z)``: noise ``(B, nz)`` -> points
``(B, 1)``; ``D(x)``: points ``(B, 1)`` -> logits ``(B,)``.

* :func:`dataset`: samples of a :class:`ganlib.theory.Mixture` as ``TensorData`` ``(N, 1)`` for ``fit``.
* :func:`pushforward_density`: p_g, the density of G(z), as a histogram; with ``nz = 1`` it pushes a fine
  grid of noise quantiles through G, so it carries no sampling noise at all.
* :func:`snapshotter`: the ``snapshot`` hook of ``fit``; each frame shows p_data, p_g, D(x) and D*(x) for
  the current G, and the map z -> x = G(z) underneath (Goodfellow et al. 2014, Fig. 1; source 001, Fig. 4).
* :func:`frozen_config`: the D-only phase (with ``gl.steps.FrozenG``, ``fit`` trains D by itself towards
  D*); :func:`d_star_gap` measures how close it got.
* :func:`fit_quantile_map`: chapter 1's "generator as a learned mapping", fitted without a discriminator.
* :func:`detach_experiment`: one D step and one G step by hand, with and without ``.detach()`` and
  ``zero_grad`` (chapter 3: which of the two keeps G's update clean).

Floor 5 (a chapter helper). Taught in: "Generative models" (the learned inverse CDF), "Training on a 1-D toy"
(everything else).
"""
from __future__ import annotations

import copy
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
from .util import eval_mode


# ---------------------------------------------------------------- data
DISTRIBUTIONS = {
    # chapter 3: two overlapping bumps; a smooth increasing G can make it, so the toy can converge
    "two-bumps": dict(weights=[0.6, 0.4], means=[-1.0, 1.3], stds=[0.6, 0.5]),
    # chapter 1: two modes with an almost empty gap: its inverse CDF has a near-jump to learn
    "gap": dict(weights=[0.4, 0.6], means=[-2.0, 1.5], stds=[0.5, 0.7]),
}


def p_data(cfg: Config) -> theory.Mixture:
    """The data distribution named by ``cfg.chapter.p_data``: a key of :data:`DISTRIBUTIONS` or a dict
    ``{"weights": [...], "means": [...], "stds": [...]}``."""
    spec = getattr(cfg.chapter, "p_data", None)
    if isinstance(spec, str):
        if spec not in DISTRIBUTIONS:
            raise KeyError(f"Unknown 1-D distribution {spec!r}; use one of {', '.join(DISTRIBUTIONS)} or a dict.")
        spec = DISTRIBUTIONS[spec]
    if spec is None:
        raise KeyError(f"Preset {cfg.name!r} names no data distribution: set chapter=Toy1D(p_data=...) to one of "
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
    with eval_mode(G):
        return G(z).reshape(-1).double().numpy()


def pushforward_density(G: nn.Module, edges: np.ndarray, nz: int = 1, n: int = 200_000) -> np.ndarray:
    """p_g on the bins ``edges`` ``(n_bins + 1,)``: the histogram density of G(z) for :func:`noise_grid`
    noise, shape ``(n_bins,)``. Mass that G puts outside the bins is lost (it integrates to < 1 then)."""
    x = generate(G, noise_grid(nz, n))
    counts, _ = np.histogram(x, bins=edges)
    return counts / (len(x) * np.diff(edges))


def d_prob(D: nn.Module, x: np.ndarray) -> np.ndarray:
    """sigmoid(D(x)) at the points ``x`` ``(n,)``, float64; D in eval mode, no gradients."""
    with eval_mode(D):
        return torch.sigmoid(D(torch.as_tensor(x, dtype=torch.float32)[:, None])).double().numpy()


class Axis:
    """The x-axis of the toy: ``n_bins`` bins over ``x_range``; ``centres`` ``(n_bins,)`` and ``edges``."""

    def __init__(self, x_range=(-4.0, 4.0), n_bins: int = 400):
        self.edges = np.linspace(x_range[0], x_range[1], n_bins + 1)
        self.centres = 0.5 * (self.edges[1:] + self.edges[:-1])
        self.x_range = tuple(x_range)

    @classmethod
    def from_config(cls, cfg: Config) -> "Axis":
        """The axis of ``cfg.chapter`` (``x_range``, ``n_bins``)."""
        return cls(cfg.chapter.x_range, cfg.chapter.n_bins)


def state(G: nn.Module, D: nn.Module, p: theory.Mixture, grid: Axis, nz: int = 1) -> dict:
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


def d_star_gap(G: nn.Module, D: nn.Module, p: theory.Mixture, grid: Axis, nz: int = 1,
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
def draw(s: dict, grid: Axis, G: nn.Module | None = None, nz: int = 1, title: str = "", y_max: float | None = None,
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


def snapshotter(p: theory.Mixture, grid: Axis, nz: int = 1, label: str = "G update", dpi: int = 80,
                y_max: float | None = None):
    """The ``snapshot`` hook for ``fit``: ``fn(run) -> uint8 (H, W, 3)`` Fig.-1 frame of the run's G and D,
    titled "<label> <run.step>"."""
    from .viz import figure_to_array

    def snapshot(run) -> np.ndarray:
        fig = draw(state(run.G, run.D, p, grid, nz), grid, run.G, nz, f"{label} {run.step}", y_max)
        return figure_to_array(fig, dpi=dpi)

    return snapshot


# ---------------------------------------------------------------- training helpers (all through ganlib.fit)
def frozen_config(cfg: Config) -> Config:
    """The configuration of the D-only phase of a toy preset: one D step per (frozen) G update,
    ``frozen_steps`` of them on batches of ``frozen_batch``, Adam with ``frozen_lr`` and ``frozen_beta1``
    (the usual 0.9: this is plain supervised learning), ``frozen_frames`` snapshots (all in ``cfg.chapter``).
    Its ``num_epochs`` is what ``frozen_steps`` batches take on data of ``cfg.n_train`` samples. Train it
    with ``fit(..., step=gl.steps.FrozenG())``."""
    c = cfg.chapter
    steps = c.frozen_steps
    return cfg.replace(k=1, max_steps=steps, batch_size=c.frozen_batch, lr=c.frozen_lr, beta1=c.frozen_beta1,
                       num_epochs=math.ceil(steps / max(1, cfg.n_train // c.frozen_batch)),
                       snapshot_every=max(1, steps // c.frozen_frames), log_every=steps)


def cosine_lr(total: int, lr: float) -> dict:
    """A callback for ``fit`` that anneals D's learning rate from ``lr`` to 0 over ``total`` G updates
    (cosine schedule): the late, small steps let D settle on its optimum instead of jittering around it."""
    def on_step_end(run):
        for group in run.opt_d.param_groups:
            group["lr"] = 0.5 * lr * (1.0 + math.cos(math.pi * min(run.step, total) / total))

    return {"on_step_end": on_step_end}


def jsd_tracker(p: theory.Mixture, grid: Axis, every: int, nz: int = 1) -> tuple[dict, list]:
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


# ---------------------------------------------------------------- chapter 3: what .detach() protects against
def detach_experiment(G: nn.Module, D: nn.Module, loss: Loss, real: torch.Tensor, z_d: torch.Tensor,
                      z_g: torch.Tensor, lr: float = 0.1, detach: bool = True, zero_grad: bool = True) -> dict:
    """One D step, then one G step, written out by hand with two switches (plain SGD, on deep copies of G, D).

    * ``detach``: the D step makes its fakes without a graph to G (``torch.no_grad()``, the tutorial's
      ``.detach()``), or leaves them attached, so that D's backward pass also fills G's ``.grad``.
    * ``zero_grad``: the G step clears G's gradients before its own backward pass (as ``GANStep.g_step``
      does), or not (source 000's loop has no ``zero_grad``): then whatever sits in ``.grad`` is added in.

    ``real`` ``(B, 1)``; ``z_d`` ``(B, nz)`` noise of the D step; ``z_g`` ``(M, nz)`` noise of the G step. G and
    D are not changed. Returns ``leaked`` (the norm of the gradient in G's weights after the D step; 0.0 when
    there is none) and ``g_after`` (G's parameters after the G step, a list of tensors).

    Taught in: "Training, on a toy you can see" (chapter 3: detach saves compute; zero_grad keeps G clean).
    """
    G, D = copy.deepcopy(G), copy.deepcopy(D)
    opt_g, opt_d = torch.optim.SGD(G.parameters(), lr=lr), torch.optim.SGD(D.parameters(), lr=lr)
    opt_g.zero_grad(set_to_none=True)
    # (1) the D step: minimise loss.d on a real batch and a fake batch
    opt_d.zero_grad(set_to_none=True)
    if detach:
        with torch.no_grad():
            fake = G(z_d)
    else:
        fake = G(z_d)  # still attached to G's graph
    loss.d(D(real), D(fake)).backward()
    opt_d.step()
    grads = [p.grad for p in G.parameters() if p.grad is not None]
    leaked = float(torch.sqrt(sum((g ** 2).sum() for g in grads))) if grads else 0.0
    # (2) the G step: minimise loss.g against the new D
    if zero_grad:
        opt_g.zero_grad(set_to_none=True)
    loss.g(D(G(z_g))).backward()
    opt_g.step()
    return {"leaked": leaked, "g_after": [p.detach().clone() for p in G.parameters()]}
