"""Chapter "Variants": the GAN losses side by side on one task, and what a critic's number means.

* :data:`NAMES` -- the six losses of :mod:`ganlib.losses`, in the order the chapter shows them.
* :func:`config_for` -- one loss's run: its paper's optimiser settings and the shared budget (the same
  number of G updates for every loss, whatever its ``k``).
* :func:`compare` -- one :func:`ganlib.train.fit` per loss, same nets, same seed, same budget; returns a
  :class:`Result` per loss. :func:`ring_evaluator` / :class:`MNISTEvaluator` score a run; :func:`table`
  prints the comparison.
* :func:`exact_w1`, :func:`critic_gap`, :class:`W1Tracker` -- the earth mover's distance between two point
  clouds, solved exactly, and the critic's estimate of it.
* :func:`shift_experiment` -- a blob and the same blob moved by ``d``: the true distance is ``d``; what does a
  trained discriminator (Jensen-Shannon) or critic (Wasserstein) report? (:func:`jsd_shifted_gaussians`)

Taught in: "Variants".
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from . import losses as L
from .config import Config
from .data import TensorData
from .train import Run, fit

NAMES = tuple(L.LOSSES)  # minimax, non-saturating, lsgan, wgan, wgan-gp, hinge


# ---------------------------------------------------------------- one loss's run
def config_for(cfg: Config, loss: str, n_data: int, **overrides) -> Config:
    """``cfg`` for ``loss``: the loss's paper settings (:attr:`ganlib.losses.Loss.settings`), then
    ``overrides`` (e.g. ``lr=1e-3``), and the budget.

    The budget is ``cfg.extra["g_updates"]`` G updates for every loss; a loss with ``k`` critic steps per G
    update therefore sees ``k`` times as many real batches (and costs more time). ``num_epochs`` is set to
    the passes over ``n_data`` samples that this needs, ``max_steps`` to the budget.
    """
    chosen = L.get(loss)
    if "g_updates" not in cfg.extra:
        raise KeyError("config_for needs cfg.extra['g_updates'], the number of G updates every loss gets; "
                       "start from gl.preset('variants-ring') or gl.preset('variants-mnist').")
    g_updates = int(cfg.extra["g_updates"])
    out = cfg.replace(loss=chosen.name, **{**chosen.settings, **overrides})
    per_epoch = (n_data // out.batch_size) // out.k  # G updates per pass over the data (fit's rule)
    if per_epoch == 0:
        raise ValueError(f"{n_data} samples give fewer than k={out.k} batches of {out.batch_size}; "
                         "use more data or a smaller batch.")
    return out.replace(max_steps=g_updates, num_epochs=math.ceil(g_updates / per_epoch))


@dataclass
class Result:
    """One loss's run in a comparison: its config, the fitted :class:`~ganlib.train.Run`, its scores."""

    loss: str
    cfg: Config
    run: Run
    metrics: dict
    train_seconds: float   # sum of the per-G-update times (k D steps + 1 G step each), no snapshots
    wall_seconds: float    # the whole fit call, snapshots included

    @property
    def d_steps(self) -> int:
        return self.cfg.k * len(self.run.history)


def compare(cfg: Config, data, build: Callable[[Config], tuple], evaluate: Callable[[Run], dict],
            losses=NAMES, snapshot: Callable | None = None, callbacks=None, progress: bool = False,
            log: Callable[[str], None] | None = print, overrides: dict | None = None) -> dict[str, Result]:
    """Train one GAN per loss in ``losses`` on ``data`` and score it; returns ``{loss: Result}``.

    Fair by construction: every run builds its nets with ``build(cfg)`` from the same seed, draws the same
    noise stream, and gets ``cfg.extra["g_updates"]`` G updates (:func:`config_for`). ``evaluate(run) ->
    dict`` scores a finished run. ``callbacks``: a dict for :func:`~ganlib.train.fit`, or ``fn(loss) -> dict``
    for per-run callbacks. ``snapshot`` is passed to ``fit``. ``log`` prints one line per loss.
    ``overrides``: Config fields that replace the papers' settings in every run (e.g. ``{"lr": cfg.lr}``).
    """
    results = {}
    for name in losses:
        run_cfg = config_for(cfg, name, len(data), **(overrides or {}))
        G, D = build(run_cfg)
        L.check_critic(D, name)
        hooks = callbacks(name) if callable(callbacks) else callbacks
        t0 = time.perf_counter()
        run = fit(G, D, data, run_cfg, snapshot=snapshot, callbacks=hooks, progress=progress)
        wall = time.perf_counter() - t0
        result = Result(name, run_cfg, run, evaluate(run), float(sum(run.history.seconds)), wall)
        results[name] = result
        if log:
            scores = ", ".join(f"{k} {v:.3g}" for k, v in result.metrics.items() if isinstance(v, (int, float)))
            log(f"{name:>15}: {len(run.history)} G updates x k={run_cfg.k}, {result.train_seconds:.1f} s; {scores}")
    return results


# ---------------------------------------------------------------- scoring
def ring_evaluator(data, n: int = 2500, seed: int = 0) -> Callable[[Run], dict]:
    """``fn(run) -> {"modes", "hq"}`` for toy 2-D data (with ``.centers``, ``.std``): :func:`ganlib.toy2d.mode_metrics`
    of ``n`` fresh samples of G."""
    from . import toy2d

    def evaluate(run: Run) -> dict:
        m = toy2d.evaluate(run.G, run.cfg.nz, data.centers, data.std, n=n, seed=seed)
        return {"modes": m["modes"], "hq": m["hq"]}

    return evaluate


class MNISTEvaluator:
    """``evaluate(run) -> {"mnist_score", "frechet"}``: ``n`` fresh digits of G against ``real (M, 1, H, W)``
    held-out digits, measured by :mod:`ganlib.metrics`' MNIST classifier (trained once and cached).
    ``evaluate.score(images)`` scores any batch of digits the same way (e.g. real ones: the ceiling)."""

    def __init__(self, real: torch.Tensor, n: int = 1000, seed: int = 0, classifier=None):
        from . import metrics

        self.metrics, self.n, self.seed = metrics, n, seed
        self.model = classifier if classifier is not None else metrics.mnist_classifier(verbose=False)[0]
        self.real_features = metrics.features(self.model, real)  # once, shared by every run

    def score(self, images: torch.Tensor) -> dict:
        m = self.metrics
        return {"mnist_score": m.mnist_score(m.probabilities(self.model, images)),
                "frechet": m.frechet_distance(self.real_features, m.features(self.model, images))}

    def __call__(self, run: Run) -> dict:
        return self.score(self.metrics.generate(run.G, self.n, run.cfg.nz, seed=self.seed))


COLUMNS = {  # metric key -> (table header, format)
    "modes": ("modes covered", "{:d}"),
    "hq": ("high-quality share", "{:.1%}"),
    "mnist_score": ("MNIST score", "{:.2f}"),
    "frechet": ("Frechet distance", "{:.1f}"),
}


def table(tasks: dict[str, dict[str, Result]]) -> str:
    """The comparison as a Markdown table, one row per loss: ``k``, then per task (e.g. ``{"ring": ...,
    "MNIST": ...}``) its metrics and training time (the G updates with their ``k`` D steps; no snapshots)."""
    names = list(dict.fromkeys(name for results in tasks.values() for name in results))
    head, columns = ["loss", "k (D steps per G update)"], []
    for label, results in tasks.items():
        keys = [k for k in COLUMNS if any(k in r.metrics for r in results.values())]
        head += [f"{label}: {COLUMNS[k][0]}" for k in keys] + [f"{label}: time (s)"]
        columns.append((results, keys))
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in names:
        k = next(results[name].cfg.k for results, _ in columns if name in results)
        cells = [name, str(k)]
        for results, keys in columns:
            r = results.get(name)
            cells += [COLUMNS[key][1].format(r.metrics[key]) if r and key in r.metrics else "-" for key in keys]
            cells.append(f"{r.train_seconds:.0f}" if r else "-")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def no_snapshot(run: Run) -> np.ndarray:
    """A blank 1x1 frame: pass as ``fit``'s ``snapshot`` when no pictures are wanted (benchmarks, tests)."""
    return np.zeros((1, 1, 3), np.uint8)


def side_by_side(results: dict[str, Result], ncol: int = 3) -> tuple[list, list]:
    """Montages of every loss's snapshots taken at the same G update: ``(frames, steps)`` for ``gl.viz.player``.

    Each frame puts the losses' snapshots (uint8 ``(H, W, C)``, same size) in a grid of ``ncol`` columns.
    """
    import torch as _torch

    from .viz import grid

    runs = [r.run for r in results.values()]
    steps = sorted(set.intersection(*(set(run.history.snapshot_steps) for run in runs)))
    frames = []
    for step in steps:
        pics = [_torch.as_tensor(np.array(run.history.snapshots[run.history.snapshot_steps.index(step)]))
                for run in runs]
        frames.append(grid(_torch.stack([p.permute(2, 0, 1) for p in pics]), nrow=ncol, padding=4))
    return frames, steps


# ---------------------------------------------------------------- what the critic's value means
def exact_w1(a: torch.Tensor, b: torch.Tensor) -> float:
    """The earth mover's (1-Wasserstein) distance between two equal-size point clouds ``(N, d)``, exactly.

    With N points on each side and equal weights, an optimal transport plan is a one-to-one matching
    (Birkhoff), so W1 is the mean distance of the cheapest matching (``scipy``'s Hungarian solver, O(N^3):
    keep N <= ~1000).
    """
    from scipy.optimize import linear_sum_assignment

    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    if a.dim() != 2 or a.shape != b.shape:
        raise ValueError(f"exact_w1 wants two point clouds of the same shape (N, d); got {tuple(a.shape)} "
                         f"and {tuple(b.shape)}.")
    cost = torch.cdist(a, b, compute_mode="donot_use_mm_for_euclid_dist").numpy()  # exact, no |a|^2+|b|^2-2ab
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].mean())


@torch.no_grad()
def critic_gap(D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> float:
    """mean D(real) - mean D(fake) on ``(N, ...)`` batches: a 1-Lipschitz critic's lower bound on W1."""
    return float(D(real).mean() - D(fake).mean())


class W1Tracker:
    """An ``on_snapshot`` callback for toy 2-D runs: the critic's gap and the exact W1, over training.

    At each snapshot it draws ``n`` fresh samples of G (a fixed seed) and compares them with ``n`` fixed
    data points: ``steps``, ``gap`` (:func:`critic_gap`) and ``w1`` (:func:`exact_w1`) grow one entry each.
    """

    def __init__(self, data: TensorData, n: int = 512, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        self.real = data.x[torch.randperm(len(data), generator=g)[:n]]
        self.n, self.seed = n, seed
        self.steps, self.gap, self.w1 = [], [], []

    def __call__(self, run: Run) -> None:
        from .metrics import generate

        fake = generate(run.G, self.n, run.cfg.nz, seed=self.seed)
        self.steps.append(run.step)
        self.gap.append(critic_gap(run.D, self.real.to(run.device), fake.to(run.device)))
        self.w1.append(exact_w1(self.real, fake))


def jsd_shifted_gaussians(d: float, sigma: float, points: int = 20001) -> float:
    """JSD (nats) between N(0, sigma^2 I) and N(d e_1, sigma^2 I), in any dimension, by quadrature.

    Only the coordinate along the shift differs, so it is the 1-D JSD of N(0, sigma^2) and N(d, sigma^2);
    it grows from 0 (d = 0) to ln 2 (disjoint supports), and is flat -- no gradient -- once d >> sigma.
    """
    from scipy.integrate import trapezoid

    x = np.linspace(-12 * sigma, d + 12 * sigma, points)
    p = np.exp(-0.5 * (x / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
    q = np.exp(-0.5 * ((x - d) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
    m = 0.5 * (p + q)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_pm = np.where(p > 0, p * np.log(p / m), 0.0)
        kl_qm = np.where(q > 0, q * np.log(q / m), 0.0)
    return float(np.clip(0.5 * trapezoid(kl_pm + kl_qm, x), 0.0, math.log(2)))


class ShiftedBlob(nn.Module):
    """A "generator" with nothing to learn: z ``(B, nz)`` -> ``sigma * z[:, :2] + (d, 0)``, i.e. N((d, 0), sigma^2 I).

    Its one parameter (the shift) has ``requires_grad=False``, so ``fit`` trains only the discriminator.
    """

    def __init__(self, d: float, sigma: float, nz: int = 2):
        super().__init__()
        self.sigma, self.nz = sigma, nz
        self.shift = nn.Parameter(torch.tensor([float(d), 0.0]), requires_grad=False)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.sigma * z.reshape(z.shape[0], self.nz)[:, :2] + self.shift


@torch.no_grad()
def distance_estimate(D: nn.Module, loss: str, real: torch.Tensor, fake: torch.Tensor) -> float:
    """What a trained ``D`` says about the distance between ``real`` and ``fake`` batches ``(N, ...)``.

    Cross-entropy losses: ln 2 - Loss_D / 2, the Jensen-Shannon divergence when D is optimal (Loss_D =
    2 ln 2 - 2 JSD). Critics (WGAN, WGAN-GP): the score gap, which for a 1-Lipschitz critic is at most W1.
    """
    chosen = L.get(loss)
    real_out, fake_out = D(real), D(fake)
    if chosen.d is L.d_cross_entropy:
        return float(math.log(2) - 0.5 * L.d_cross_entropy(real_out, fake_out))
    if chosen.d is L.d_wasserstein:
        return float(real_out.mean() - fake_out.mean())
    raise ValueError(f"No distance reading is defined for the {chosen.name!r} loss; use a cross-entropy "
                     "loss (minimax, non-saturating) or a critic (wgan, wgan-gp).")


def shift_experiment(cfg: Config, shifts, losses=("non-saturating", "wgan", "wgan-gp"),
                     n_test: int = 4096) -> dict:
    """Train only a discriminator/critic between a blob N(0, sigma^2 I) and the blob moved by each ``d`` in
    ``shifts``; return ``{"shifts", "jsd", "w1", <loss>: [estimates]}`` (exact values and D's readings).

    ``cfg`` (preset ``variants-shift``) gives the critic (``ndf``, ``extra["depth"]``), the blob's ``sigma``
    and ``n_data`` in ``extra``, and the steps (``extra["g_updates"]``; G never changes, so these are just D
    steps). Each loss keeps its paper's optimiser with ``lr`` and ``k = 1`` from ``cfg`` (it is not a GAN here:
    the critic is simply trained to convergence). Estimates come from :func:`distance_estimate` on ``n_test``
    fresh samples of each side.
    """
    from . import toy2d

    sigma, n_data = cfg.extra["sigma"], cfg.extra["n_data"]
    g = torch.Generator().manual_seed(cfg.seed)
    real = TensorData(sigma * torch.randn(n_data, 2, generator=g), source=f"N(0, {sigma}^2 I), {n_data} points")
    test_real = sigma * torch.randn(n_test, 2, generator=g)
    test_z = torch.randn(n_test, cfg.nz, generator=g)
    out = {"shifts": [float(d) for d in shifts],
           "jsd": [jsd_shifted_gaussians(float(d), sigma) for d in shifts],
           "w1": [abs(float(d)) for d in shifts]}
    for name in losses:
        estimates = []
        for d in shifts:
            run_cfg = config_for(cfg, name, n_data).replace(k=1, lr=cfg.lr)
            run_cfg = run_cfg.replace(num_epochs=math.ceil(run_cfg.max_steps / (n_data // run_cfg.batch_size)))
            _, D = toy2d.build(run_cfg)
            run = fit(ShiftedBlob(d, sigma, cfg.nz), D, real, run_cfg, progress=False, snapshot=no_snapshot)
            estimates.append(distance_estimate(run.D, name, test_real.to(run.device),
                                               run.G(test_z.to(run.device))))
        out[name] = estimates
    return out
