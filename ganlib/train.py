"""Training: one discriminator step, one generator step, and the loop that alternates them.

The loop is Algorithm 1 of Goodfellow et al. (source 001, section 12.2.4): ``k`` D steps, each on a
fresh mini-batch of real images and of noise, then one G step. It records the four statistics the
sources print (Loss_D, Loss_G, D(x), D(G(z)) before / after the D step) for every G update, keeps
snapshots of G on fixed noise, calls callbacks by event name, shows a tqdm progress bar, and saves and
resumes the whole run through :mod:`ganlib.checkpoint`.

Taught in: "Training" (Algorithm 1, k), every chapter that trains a model.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

from . import losses as L
from .config import Config, device as best_device, seed_everything
from .data import to_uint8

EVENTS = ("on_step_end", "on_snapshot", "on_epoch_end", "on_train_end")


@dataclass
class History:
    """Per-G-update statistics of a run, and the fixed-noise snapshots.

    ``loss_d[i]`` ... ``d_g_z2[i]`` belong to G update ``i`` (``d_g_z1``: D(G(z)) before D's step, seen
    by D; ``d_g_z2``: after it, seen by G). ``snapshots[j]`` is a uint8 frame ``(H, W, C)`` taken after
    ``snapshot_steps[j]`` G updates.
    """

    loss_d: list = field(default_factory=list)
    loss_g: list = field(default_factory=list)
    d_x: list = field(default_factory=list)
    d_g_z1: list = field(default_factory=list)
    d_g_z2: list = field(default_factory=list)
    epoch: list = field(default_factory=list)
    seconds: list = field(default_factory=list)  # wall time of each G update (its k D steps included)
    snapshot_steps: list = field(default_factory=list)
    snapshots: list = field(default_factory=list)

    STATS = ("loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2", "epoch", "seconds")

    def __len__(self) -> int:
        return len(self.loss_g)

    def append(self, **stats) -> None:
        for name in self.STATS:
            getattr(self, name).append(stats[name])

    def to_dict(self) -> dict:
        """Plain lists and uint8 tensors only, so that ``torch.load(weights_only=True)`` reads it back."""
        return {name: list(getattr(self, name)) for name in self.STATS + ("snapshot_steps", "snapshots")}

    @classmethod
    def from_dict(cls, values: dict) -> "History":
        return cls(**{k: list(v) for k, v in values.items()})

    def last(self) -> dict:
        """The statistics of the latest G update."""
        return {name: getattr(self, name)[-1] for name in self.STATS}


@dataclass
class Run:
    """Everything a training run is made of; ``fit`` returns it and checkpoints save it."""

    cfg: Config
    G: nn.Module
    D: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    fixed_noise: torch.Tensor              # (n_fixed, nz) on the device
    fixed_labels: torch.Tensor | None      # (n_fixed,) for conditional models, else None
    history: History
    generator: torch.Generator             # the run's own RNG: shuffling, z, labels, penalty eps
    step: int = 0                          # G updates done
    epoch: int = 0                         # epochs started
    epoch_pos: int = 0                     # index into the epoch's permutation where the next batch starts
    epoch_perm: torch.Tensor | None = None # the current epoch's shuffle order
    device: torch.device = torch.device("cpu")

    def sample_z(self, n: int) -> torch.Tensor:
        """``(n, nz)`` standard normal noise from the run's generator, on the device."""
        return torch.randn(n, self.cfg.nz, generator=self.generator).to(self.device)

    def sample_labels(self, n: int) -> torch.Tensor | None:
        """``(n,)`` uniform class labels for a conditional run, else None."""
        if not self.cfg.n_classes:
            return None
        return torch.randint(self.cfg.n_classes, (n,), generator=self.generator).to(self.device)


def make_optimizer(params, cfg: Config) -> torch.optim.Optimizer:
    """Adam(lr, (beta1, beta2)) or RMSprop(lr), as ``cfg.optimizer`` says."""
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    if cfg.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=cfg.lr)
    raise ValueError(f"Unknown optimizer {cfg.optimizer!r}; use adam or rmsprop.")


# ---------------------------------------------------------------- the two steps
def d_step(G: nn.Module, D: nn.Module, opt_d: torch.optim.Optimizer, real: torch.Tensor, z: torch.Tensor,
           loss: L.Loss, real_label: float = 1.0, y: torch.Tensor | None = None,
           y_fake: torch.Tensor | None = None, generator: torch.Generator | None = None) -> dict:
    """One update of D on a real batch ``(B, C, H, W)`` and noise ``z (B, nz)``; returns its statistics.

    The fake batch is made under ``torch.no_grad()`` (the tutorial's ``.detach()``): D's step must not
    send gradients into G. Returns ``loss_d``, ``d_x`` (D on the real batch) and ``d_g_z1`` (D on the
    fakes, before this update).
    """
    with torch.no_grad():
        fake = G(z, y_fake)
    opt_d.zero_grad(set_to_none=True)
    real_out, fake_out = D(real, y), D(fake, y_fake)
    loss_d = loss.d(real_out, fake_out, real_label)
    if loss.gp_weight:
        loss_d = loss_d + loss.gp_weight * L.gradient_penalty(
            lambda x, c=None: D(x, c), real, fake, y if y is not None else None, generator)
    loss_d.backward()
    opt_d.step()
    if loss.clip is not None:
        with torch.no_grad():
            for p in D.parameters():
                p.clamp_(-loss.clip, loss.clip)
    return {"loss_d": loss_d.item(), "d_x": loss.stat(real_out.detach()), "d_g_z1": loss.stat(fake_out.detach())}


def g_step(G: nn.Module, D: nn.Module, opt_g: torch.optim.Optimizer, z: torch.Tensor, loss: L.Loss,
           y_fake: torch.Tensor | None = None) -> dict:
    """One update of G on noise ``z (B, nz)``; returns ``loss_g`` and ``d_g_z2`` (D on the fakes, after D's step).

    Only G's optimiser steps; D's gradients are computed on the way but never applied (and are zeroed
    at the start of D's next step).
    """
    opt_g.zero_grad(set_to_none=True)
    fake_out = D(G(z, y_fake), y_fake)
    loss_g = loss.g(fake_out)
    loss_g.backward()
    opt_g.step()
    return {"loss_g": loss_g.item(), "d_g_z2": loss.stat(fake_out.detach())}


# ---------------------------------------------------------------- snapshots
def image_snapshot(run: Run, nrow: int | None = None) -> torch.Tensor:
    """G's images for the fixed noise as one uint8 grid ``(H, W, C)``; G in eval mode, no gradients."""
    from torchvision.utils import make_grid

    was_training = run.G.training
    run.G.eval()
    with torch.no_grad():
        fake = run.G(run.fixed_noise, run.fixed_labels).cpu()
    run.G.train(was_training)
    if nrow is None:  # conditional: one row per class; else as square as possible
        nrow = len(fake) // run.cfg.n_classes if run.cfg.n_classes else int(math.ceil(math.sqrt(len(fake))))
    grid = make_grid(fake, nrow=nrow, padding=2, pad_value=1.0)  # (3, H, W) in [-1, 1]
    if fake.shape[1] == 1:
        grid = grid[:1]  # make_grid copies gray images to 3 channels; keep one (a third of the memory)
    return to_uint8(grid).permute(1, 2, 0).contiguous()


def default_fixed_labels(cfg: Config) -> torch.Tensor | None:
    """For a conditional run: a grid whose row i asks for class i, ``n_fixed // n_classes`` per row."""
    if not cfg.n_classes:
        return None
    per_row = max(1, cfg.n_fixed // cfg.n_classes)
    return torch.arange(cfg.n_classes).repeat_interleave(per_row)


# ---------------------------------------------------------------- the loop
def new_run(cfg: Config, G: nn.Module, D: nn.Module, device: torch.device | None = None) -> Run:
    """A fresh run: seeded RNG, optimisers, fixed noise (drawn once, before training)."""
    device = device or best_device()
    generator = seed_everything(cfg.seed)
    G, D = G.to(device), D.to(device)
    fixed_labels = default_fixed_labels(cfg)
    n_fixed = cfg.n_fixed if fixed_labels is None else len(fixed_labels)
    if fixed_labels is not None:  # one z per column, shared by every row: a column is one "style"
        per_row = n_fixed // cfg.n_classes
        fixed_noise = torch.randn(per_row, cfg.nz, generator=generator).repeat(cfg.n_classes, 1)
        fixed_labels = fixed_labels.to(device)
    else:
        fixed_noise = torch.randn(n_fixed, cfg.nz, generator=generator)
    return Run(cfg=cfg, G=G, D=D, opt_g=make_optimizer(G.parameters(), cfg),
               opt_d=make_optimizer(D.parameters(), cfg), fixed_noise=fixed_noise.to(device),
               fixed_labels=fixed_labels, history=History(), generator=generator, device=device)


def _format_stats(run: Run, n_batches: int) -> str:
    s = run.history.last()
    return (f"[{run.epoch}/{run.cfg.num_epochs}][{run.epoch_pos // run.cfg.batch_size}/{n_batches}]\t"
            f"Loss_D: {s['loss_d']:.4f}\tLoss_G: {s['loss_g']:.4f}\tD(x): {s['d_x']:.4f}\t"
            f"D(G(z)): {s['d_g_z1']:.4f} / {s['d_g_z2']:.4f}")


def _check_finite(run: Run, stats: dict, checkpoint) -> None:
    bad = [k for k in ("loss_d", "loss_g") if not math.isfinite(stats[k])]
    if bad:
        where = f"The last good checkpoint is {checkpoint}." if checkpoint else "No checkpoint was being written."
        raise FloatingPointError(
            f"{', '.join(bad)} became {stats[bad[0]]} at G update {run.step} (epoch {run.epoch}). "
            f"Training diverged: lower the learning rate (lr={run.cfg.lr}), check the data range is [-1, 1], "
            f"or use a gentler loss. {where}")


def fit(G: nn.Module, D: nn.Module, data, cfg: Config, checkpoint: str | None = None,
        callbacks: dict | None = None, snapshot: Callable[[Run], torch.Tensor] | None = None,
        d_step_fn: Callable = d_step, g_step_fn: Callable = g_step, progress: bool = True,
        checkpoint_every: int | None = None, device: torch.device | None = None) -> Run:
    """Train ``G`` against ``D`` on ``data`` as ``cfg`` says; returns the :class:`Run`.

    Args:
        data: an object with ``batches(batch_size, generator, perm, start)`` and ``n_batches(batch_size)``
            and ``__len__`` (e.g. :class:`ganlib.data.ImageData`), yielding ``(x (B, ...), y (B,) or None)``.
        checkpoint: path of the run's checkpoint. If the file exists, the run **resumes** from it (and
            refuses if the configuration differs); it is (re)written atomically at the end of every epoch,
            every ``checkpoint_every`` G updates, at the end, and when training is interrupted.
        callbacks: ``{"on_step_end": fn, ...}`` (events: %s); each ``fn(run)``; a list of functions is allowed.
        snapshot: ``fn(run) -> uint8 (H, W, C)`` frame taken every ``cfg.snapshot_every`` G updates and at the
            end (default: the fixed-noise image grid).
        d_step_fn, g_step_fn: replace the steps (e.g. an unrolled G step); same signatures as d_step/g_step.
            A step function with a ``bind(run)`` method is handed the Run before the first step.
    """
    from tqdm.auto import tqdm

    from . import checkpoint as ckpt

    loss = L.get(cfg.loss)
    snapshot = snapshot or image_snapshot
    callbacks = {k: (v if isinstance(v, (list, tuple)) else [v]) for k, v in (callbacks or {}).items()}
    unknown = set(callbacks) - set(EVENTS)
    if unknown:
        raise ValueError(f"Unknown callback events {sorted(unknown)}; use {', '.join(EVENTS)}.")

    run = None
    if checkpoint is not None and ckpt.exists(checkpoint):
        run = ckpt.load(checkpoint, G, D, cfg, device=device)
        print(f"Resuming {checkpoint}: {run.step} G updates done, epoch {run.epoch}.")
    if run is None:
        run = new_run(cfg, G, D, device)
    G, D = run.G, run.D
    G.train(), D.train()
    for step_fn in (d_step_fn, g_step_fn):  # a step that needs the run (e.g. the unrolled G step) gets it
        if callable(getattr(step_fn, "bind", None)):
            step_fn.bind(run)

    n_batches = data.n_batches(cfg.batch_size)
    steps_per_epoch = n_batches // cfg.k
    if steps_per_epoch == 0:
        raise ValueError(f"{len(data)} images give {n_batches} batches of {cfg.batch_size}: fewer than k={cfg.k}.")
    total = steps_per_epoch * cfg.num_epochs
    if cfg.max_steps is not None:
        total = min(total, cfg.max_steps)

    def emit(event):
        for fn in callbacks.get(event, []):
            fn(run)

    def save():
        if checkpoint is not None:
            ckpt.save(checkpoint, run)

    bar = tqdm(total=total, initial=run.step, disable=not progress, desc=cfg.name, unit="step")
    if not run.history.snapshot_steps and run.step == 0:
        run.history.snapshots.append(snapshot(run))  # the starting point: G before any training
        run.history.snapshot_steps.append(0)
    try:
        while run.step < total:
            if run.epoch_perm is None:  # start a new epoch
                run.epoch_perm = torch.randperm(len(data), generator=run.generator)
                run.epoch_pos = 0
            batches = data.batches(cfg.batch_size, run.generator, run.epoch_perm, run.epoch_pos)
            while run.step < total:
                t0 = time.perf_counter()
                taken = []
                for _ in range(cfg.k):  # k discriminator steps, each on a fresh real batch
                    try:
                        real, y = next(batches)
                    except StopIteration:
                        break
                    run.epoch_pos += cfg.batch_size
                    real = real.to(run.device)
                    y = None if (y is None or not cfg.n_classes) else y.to(run.device)
                    z = run.sample_z(real.shape[0])
                    y_fake = run.sample_labels(real.shape[0])
                    taken.append(d_step_fn(G, D, run.opt_d, real, z, loss, cfg.real_label, y, y_fake,
                                           run.generator))
                if len(taken) < cfg.k:  # epoch exhausted before k D steps: the leftover batches are dropped
                    break
                z = run.sample_z(cfg.batch_size)
                stats_g = g_step_fn(G, D, run.opt_g, z, loss, run.sample_labels(cfg.batch_size))
                stats = {"loss_d": sum(t["loss_d"] for t in taken) / cfg.k, "d_x": taken[-1]["d_x"],
                         "d_g_z1": taken[-1]["d_g_z1"], **stats_g, "epoch": run.epoch,
                         "seconds": time.perf_counter() - t0}
                _check_finite(run, stats, checkpoint)
                run.step += 1
                run.history.append(**stats)
                bar.update(1)
                if progress and (run.step % max(1, cfg.log_every // 5) == 0 or run.step == total):
                    bar.set_postfix(Loss_D=f"{stats['loss_d']:.3f}", Loss_G=f"{stats['loss_g']:.3f}",
                                    Dx=f"{stats['d_x']:.3f}", DGz=f"{stats['d_g_z1']:.3f}/{stats['d_g_z2']:.3f}",
                                    refresh=False)
                if progress and (run.step % cfg.log_every == 0 or run.step == 1):
                    bar.write(_format_stats(run, n_batches))
                if run.step % cfg.snapshot_every == 0 or run.step == total:
                    run.history.snapshots.append(snapshot(run))
                    run.history.snapshot_steps.append(run.step)
                    emit("on_snapshot")
                emit("on_step_end")
                if checkpoint_every and run.step % checkpoint_every == 0:
                    save()
            else:
                break  # reached total mid-epoch
            run.epoch += 1  # the epoch's batches are used up
            run.epoch_perm, run.epoch_pos = None, 0
            emit("on_epoch_end")
            save()
    except KeyboardInterrupt:
        save()
        bar.close()
        print(f"Interrupted after {run.step} G updates" + (f"; saved to {checkpoint}." if checkpoint else "."))
        raise
    bar.close()
    save()
    emit("on_train_end")
    return run


fit.__doc__ = fit.__doc__ % ", ".join(EVENTS)
