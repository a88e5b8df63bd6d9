"""Chapter "Variants": the GAN losses side by side on one task, and what a critic's number means.

* :data:`NAMES` -- the six losses of :mod:`ganlib.losses`, in the order the chapter shows them.
* :func:`config_for` -- one loss's run: its paper's optimiser settings and the shared budget (the same
  number of G updates, ``cfg.max_steps``, for every loss, whatever its ``k``).
* :func:`compare` -- one :func:`ganlib.train.fit` per loss, same nets, same seed, same budget; returns a
  :class:`Result` per loss. :func:`ring_evaluator` / :class:`MNISTEvaluator` score a run; :func:`table`
  shows the comparison.
* :class:`W1Tracker` -- the exact earth mover's distance (:func:`ganlib.metrics.exact_w1`) and the critic's
  estimate of it (:func:`ganlib.metrics.critic_gap`), over training.
* :func:`shift_experiment` -- a blob and the same blob moved by ``d``: the true distance is ``d``; what does a
  trained discriminator (Jensen-Shannon) or critic (Wasserstein) report?

Floor 5 (a chapter helper). Taught in: "Variants".
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
from . import metrics, theory, viz
from .cache import memo
from .config import Config
from .data import TensorData
from .models import build
from .train import Run, blank_frame, fit

NAMES = tuple(L.LOSSES)  # minimax, non-saturating, lsgan, wgan, wgan-gp, hinge


# ---------------------------------------------------------------- one loss's run
def config_for(cfg: Config, loss: str, n_data: int, **overrides) -> Config:
    """``cfg`` for ``loss``: the loss's paper settings (:attr:`ganlib.losses.Loss.settings`), then
    ``overrides`` (e.g. ``lr=1e-3``), and the budget.

    The budget is ``cfg.max_steps`` G updates for every loss; a loss with ``k`` critic steps per G update
    therefore sees ``k`` times as many real batches (and costs more time). ``num_epochs`` is set to the
    passes over ``n_data`` samples that this needs.
    """
    chosen = L.get(loss)
    if cfg.max_steps is None:
        raise ValueError("config_for needs cfg.max_steps, the number of G updates every loss gets; "
                         "start from gl.preset('variants-ring') or gl.preset('variants-mnist').")
    g_updates = cfg.max_steps
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
            losses=NAMES, snapshot: Callable | None = None, callbacks=None, progress: bool = True,
            log: Callable[[str], None] | None = print, overrides: dict | None = None) -> dict[str, Result]:
    """Train one GAN per loss in ``losses`` on ``data`` and score it; returns ``{loss: Result}``.

    Fair by construction: every run builds its nets with ``build(cfg)`` from the same seed, draws the same
    noise stream, and gets ``cfg.max_steps`` G updates (:func:`config_for`). ``evaluate(run) ->
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
    """``fn(run) -> {"modes", "hq"}`` for toy 2-D data (with ``.centers``, ``.std``):
    :func:`ganlib.metrics.mode_metrics` of ``n`` fresh samples of G."""
    def evaluate(run: Run) -> dict:
        m = metrics.mode_metrics(metrics.generate(run.G, n, run.cfg.nz, seed=seed), data.centers, data.std)
        return {"modes": m["modes"], "hq": m["hq"]}

    return evaluate


class MNISTEvaluator:
    """``evaluate(run) -> {"mnist_score", "frechet"}``: ``n`` fresh digits of G against ``real (M, 1, H, W)``
    held-out digits, measured by :mod:`ganlib.metrics`' MNIST classifier (trained once and cached).
    ``evaluate.score(images)`` scores any batch of digits the same way (e.g. real ones: the ceiling)."""

    def __init__(self, real: torch.Tensor, n: int = 1000, seed: int = 0, classifier=None):
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


def table(tasks: dict[str, dict[str, Result]]):
    """The comparison, one row per loss: ``k``, then per task (e.g. ``{"ring": ..., "MNIST": ...}``) its
    metrics and training time (the G updates with their ``k`` D steps; no snapshots); see :func:`ganlib.viz.table`."""
    names = list(dict.fromkeys(name for results in tasks.values() for name in results))
    rows = []
    for name in names:
        row = {"loss": name, "k (D steps per G update)": next(r[name].cfg.k for r in tasks.values() if name in r)}
        for label, results in tasks.items():
            r = results.get(name)
            for key, (header, fmt) in COLUMNS.items():
                if any(key in x.metrics for x in results.values()):
                    row[f"{label}: {header}"] = fmt.format(r.metrics[key]) if r and key in r.metrics else "-"
            row[f"{label}: time (s)"] = f"{r.train_seconds:.0f}" if r else "-"
        rows.append(row)
    return viz.table(rows)


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
class W1Tracker:
    """An ``on_snapshot`` callback for toy 2-D runs: the critic's gap and the exact W1, over training.

    At each snapshot it draws ``n`` fresh samples of G (a fixed seed) and compares them with ``n`` fixed
    data points: ``steps``, ``gap`` (:func:`ganlib.metrics.critic_gap`), ``w1``
    (:func:`ganlib.metrics.exact_w1`) and ``lipschitz`` (:func:`lipschitz_bound` of D: an upper bound K on
    its Lipschitz constant, so that ``gap <= K * w1`` on these very samples) grow one entry each.
    """

    def __init__(self, data: TensorData, n: int = 512, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        self.real = data.x[torch.randperm(len(data), generator=g)[:n]]
        self.n, self.seed = n, seed
        self.steps, self.gap, self.w1, self.lipschitz = [], [], [], []

    def __call__(self, run: Run) -> None:
        fake = metrics.generate(run.G, self.n, run.cfg.nz, seed=self.seed)
        self.steps.append(run.step)
        self.gap.append(metrics.critic_gap(run.D, self.real.to(run.device), fake.to(run.device)))
        self.w1.append(metrics.exact_w1(self.real, fake))
        self.lipschitz.append(lipschitz_bound(run.D))


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
                     n_test: int = 4096, cache: str | None = None) -> dict:
    """Train only a discriminator/critic between a blob N(0, sigma^2 I) and the blob moved by each ``d`` in
    ``shifts``; return ``{"shifts", "jsd", "w1", <loss>: [estimates], "lipschitz": {<loss>: [K]}}`` (exact
    values, D's readings, and each trained critic's :func:`lipschitz_bound`).

    ``cfg`` (preset ``variants-shift``) gives the critic (``ndf``, ``d_depth``), the blob's ``sigma``
    (``cfg.chapter.sigma``), the data points (``n_train``) and the steps (``max_steps``; G never changes, so
    these are just D steps). The exact JSD is :func:`ganlib.theory.jsd` of the two 1-D Gaussians along the
    shift (only that coordinate differs). Each loss keeps its paper's optimiser with ``lr`` and ``k = 1`` from ``cfg`` (it is not a GAN here:
    the critic is simply trained to convergence). Estimates come from :func:`distance_estimate` on ``n_test``
    fresh samples of each side. ``cache``: a name for :func:`ganlib.cache.memo`, which saves the readings
    under ``$GANLIB_RUNS/cache`` and loads them when called again with the same settings.
    """
    if cache:
        return memo(cache, (cfg, list(shifts), list(losses), n_test),
                    lambda: shift_experiment(cfg, shifts, losses, n_test))
    sigma, n_data = cfg.chapter.sigma, cfg.n_train
    g = torch.Generator().manual_seed(cfg.seed)
    real = TensorData(sigma * torch.randn(n_data, 2, generator=g), source=f"N(0, {sigma}^2 I), {n_data} points")
    test_real = sigma * torch.randn(n_test, 2, generator=g)
    test_z = torch.randn(n_test, cfg.nz, generator=g)
    out = {"shifts": [float(d) for d in shifts],
           "jsd": [theory.jsd(theory.normal(0.0, sigma), theory.normal(float(d), sigma)) for d in shifts],
           "w1": [abs(float(d)) for d in shifts], "lipschitz": {}}
    from tqdm.auto import tqdm

    bar = tqdm(total=len(losses) * len(shifts), desc="critics trained", unit="run")
    for name in losses:
        estimates = []
        for d in shifts:
            bar.update(1)
            run_cfg = config_for(cfg, name, n_data).replace(k=1, lr=cfg.lr)
            run_cfg = run_cfg.replace(num_epochs=math.ceil(run_cfg.max_steps / (n_data // run_cfg.batch_size)))
            _, D = build(run_cfg)
            run = fit(ShiftedBlob(d, sigma, cfg.nz), D, real, run_cfg, progress=False, snapshot=blank_frame)
            estimates.append(distance_estimate(run.D, name, test_real.to(run.device),
                                               run.G(test_z.to(run.device))))
            out["lipschitz"].setdefault(name, []).append(lipschitz_bound(run.D))
        out[name] = estimates
    bar.close()
    return out


# ---------------------------------------------------------------- a critic's Lipschitz constant, bounded
_ONE_LIPSCHITZ = (nn.ReLU, nn.Tanh, nn.Identity, nn.Flatten, nn.Dropout)


@torch.no_grad()
def lipschitz_bound(D: nn.Module) -> float:
    """An upper bound K on the Lipschitz constant of a fully connected critic ``D`` (inputs ``(B, d)`` or
    images ``(B, C, H, W)`` flattened): the product over its ``nn.Linear`` layers of their largest singular
    values, times the activations' slopes (1 for ReLU and tanh, max(1, slope) for LeakyReLU, at most 1 for
    the smooth LeakyReLU, alpha for ELU with alpha > 1). So ``|D(x) - D(x')| <= K ||x - x'||`` for all x, x',
    and a critic's gap E f(real) - E f(fake) is at most K * W1 (Kantorovich-Rubinstein).

    Valid for a plain chain of layers (the toy2d and mlp critics, ``pack = 1``); anything else (a
    convolution, a normalisation layer, a packed D) raises ValueError rather than return a wrong bound.
    The true constant is usually far smaller: the bound multiplies worst cases that rarely line up.

    Taught in: "Variants" (chapter 7: a clipped critic reads at most K W1).
    """
    from .models import SmoothLeakyReLU

    if getattr(D, "pack", 1) != 1:
        raise ValueError("lipschitz_bound: a packed critic (pack > 1) scores several samples at once; its "
                         "bound is not one sample's.")
    k = 1.0
    for m in D.modules():
        if list(m.children()):
            continue  # containers: their leaves are visited
        if isinstance(m, nn.Linear):
            k *= float(torch.linalg.matrix_norm(m.weight.double(), ord=2))
        elif isinstance(m, nn.LeakyReLU):
            k *= max(1.0, abs(m.negative_slope))
        elif isinstance(m, nn.ELU):
            k *= max(1.0, m.alpha)
        elif isinstance(m, (SmoothLeakyReLU, *_ONE_LIPSCHITZ)):
            continue
        else:
            raise ValueError(f"lipschitz_bound: a {type(m).__name__} layer is not handled; the bound is for "
                             "plain fully connected critics (Linear layers and 1-Lipschitz activations).")
    return k


# ---------------------------------------------------------------- the chapter's targets
def check_ring(results: dict[str, Result], settings) -> list[dict]:
    """The ring's targets (``settings`` = ``cfg.chapter``, a :class:`ganlib.config.Toy2D`), checked with
    :func:`ganlib.metrics.check_targets`: the best loss covers at least ``min_modes`` modes and reaches a
    high-quality share of at least ``min_hq``. None: not checked at this size. Returns the rows for
    ``gl.viz.table``; raises AssertionError naming every missed target.

    Taught in: "Variants" (chapter 7, the losses on the ring).
    """
    measured = {"most modes covered": max(r.metrics["modes"] for r in results.values()),
                "largest high-quality share": max(r.metrics["hq"] for r in results.values())}
    return metrics.check_targets(measured, {"most modes covered": (">=", settings.min_modes),
                                            "largest high-quality share": (">=", settings.min_hq)})


def check_shift(readings: dict, settings, far: float = 0.7) -> list[dict]:
    """The shift experiment's targets (``settings`` = ``cfg.chapter``, a :class:`ganlib.config.Toy2D`), at
    every shift ``d >= far`` (the blobs no longer overlap), checked with :func:`ganlib.metrics.check_targets`:
    the cross-entropy D reads ln 2 within ``saturation_tol``, and the WGAN-GP critic reads d within
    ``w1_rel_tol * d``. None: not checked at this size. ``readings`` from :func:`shift_experiment`. Returns the
    rows for ``gl.viz.table``; raises AssertionError naming every missed target.

    Taught in: "Variants" (chapter 7, what the critic's number means).
    """
    idx = [i for i, d in enumerate(readings["shifts"]) if d >= far]
    saturation = f"D's reading minus ln 2, largest |.| for d >= {far}"
    relative = f"WGAN-GP's gap minus d, largest |.| / d for d >= {far}"
    measured = {saturation: max(abs(readings["non-saturating"][i] - math.log(2)) for i in idx),
                relative: max(abs(readings["wgan-gp"][i] - readings["w1"][i]) / readings["w1"][i] for i in idx)}
    return metrics.check_targets(measured, {saturation: ("<=", settings.saturation_tol),
                                            relative: ("<=", settings.w1_rel_tol)})


def check_mnist(results: dict[str, Result], settings) -> list[dict]:
    """The MNIST comparison's targets (``settings`` = ``cfg.chapter``, a :class:`ganlib.config.Variants`),
    checked with :func:`ganlib.metrics.check_targets`: the best MNIST score is at least ``min_best_score`` and
    the best Frechet distance at most ``max_best_frechet``. None: not checked at this size. Returns the rows
    for ``gl.viz.table``; raises AssertionError naming every missed target.

    Taught in: "Variants" (chapter 7, the losses on MNIST).
    """
    measured = {"best MNIST score": max(r.metrics["mnist_score"] for r in results.values()),
                "best Frechet distance": min(r.metrics["frechet"] for r in results.values())}
    return metrics.check_targets(measured, {"best MNIST score": (">=", settings.min_best_score),
                                            "best Frechet distance": ("<=", settings.max_best_frechet)})
