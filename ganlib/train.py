"""Training: the step of Algorithm 1 (k D updates, one G update) and the loop that repeats it.

The loop is Algorithm 1 of Goodfellow et al. (source 001, section 12.2.4): ``k`` D steps, each on a
fresh mini-batch of real images and of noise, then one G step. :func:`fit` is built from named pieces:

* :func:`start_or_resume` -- a fresh :class:`Run`, or the one in the checkpoint (refused if the
  configuration or the data differ);
* :class:`GANStep` -- one training step. It is the ONE protocol for every variation of training: a
  variation is a subclass that overrides one method (``d_loss``/``g_loss`` for a loss term,
  ``g_opponent`` for the D that G plays against, ``g_step`` for a different G update); see ganlib.steps;
* :class:`Bookkeeper` -- statistics, the progress bar, snapshots, callbacks, checkpoints, and the
  checks that nothing diverged and nothing is lost on an interrupt.

It records the four statistics the sources print (Loss_D, Loss_G, D(x), D(G(z)) before / after the
D step) for every G update and keeps snapshots of G on fixed noise.

Floor 2 (imports config, data, losses, checkpoint). Taught in: "Training" (Algorithm 1, k), every chapter
that trains a model.
"""
from __future__ import annotations

import contextlib
import hashlib
import math
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn

from . import checkpoint as ckpt
from . import distributed as dist
from . import losses as L
from .config import Config, device as best_device, seed_everything
from .data import to_uint8
from .util import eval_mode

EVENTS = ("on_step_end", "on_snapshot", "on_epoch_end", "on_train_end")
LOSS_LIMIT = 1e6  # a loss beyond this has diverged (healthy runs of every loss here stay below 1e3)
SYNC_EVERY = 25   # on a GPU, statistics are read back to the host every this many steps


@dataclass
class History:
    """Per-G-update statistics of a run, and the fixed-noise snapshots.

    ``loss_d[i]`` ... ``d_g_z2[i]`` belong to G update ``i`` (``d_g_z1``: D(G(z)) before D's step, seen
    by D; ``d_g_z2``: after it, seen by G). ``snapshots[j]`` is a uint8 NumPy frame ``(H, W, C)`` taken
    after ``snapshot_steps[j]`` G updates.
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

    def add_snapshot(self, step: int, frame) -> None:
        """Keep ``frame`` (an image ``(H, W, C)``, uint8 tensor or array) as taken after ``step`` G updates."""
        frame = as_frame(frame)  # checked first: a refused frame must not leave a step without its snapshot
        self.snapshot_steps.append(step)
        self.snapshots.append(frame)

    def to_dict(self) -> dict:
        """Plain lists and uint8 tensors only, so that ``torch.load(weights_only=True)`` reads it back."""
        out = {name: list(getattr(self, name)) for name in self.STATS + ("snapshot_steps",)}
        out["snapshots"] = [torch.from_numpy(f) for f in self.snapshots]
        return out

    @classmethod
    def from_dict(cls, values: dict) -> "History":
        h = cls(**{k: list(v) for k, v in values.items() if k != "snapshots"})
        h.snapshots = [as_frame(f) for f in values.get("snapshots", [])]
        return h

    def last(self) -> dict:
        """The statistics of the latest G update."""
        return {name: getattr(self, name)[-1] for name in self.STATS}


def as_frame(frame) -> np.ndarray:
    """A snapshot as ganlib keeps it: a C-contiguous uint8 NumPy array ``(H, W, C)``."""
    if isinstance(frame, torch.Tensor):
        frame = frame.detach().cpu().numpy()
    frame = np.ascontiguousarray(frame)
    if frame.dtype != np.uint8 or frame.ndim != 3:
        raise ValueError(f"A snapshot frame is a uint8 image (H, W, C); got {frame.dtype} {frame.shape}.")
    return frame


@dataclass
class Run:
    """Everything a training run is made of; ``fit`` returns it and checkpoints save its state."""

    cfg: Config
    G: nn.Module
    D: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    fixed_noise: torch.Tensor              # (n_fixed, nz) on the device
    fixed_labels: torch.Tensor | None      # (n_fixed,) for conditional models, else None
    history: History
    generator: torch.Generator             # the run's own RNG: shuffling, z, labels, penalty eps
    data_id: dict                          # what it trains on (data_identity): resuming on other data is refused
    loss: L.Loss                           # cfg.loss, looked up (ganlib.losses.LOSSES)
    precision: str = "fp32"                # fp32 | bf16 | fp16 (autocast on a GPU; see choose_precision)
    scaler: object = None                  # torch.amp.GradScaler for fp16, else None
    rank: int = 0                          # this process among `world` (torchrun; see ganlib.distributed)
    world: int = 1                         # processes sharing each global batch
    step: int = 0                          # G updates done
    epoch: int = 0                         # epochs started
    epoch_pos: int = 0                     # index into the epoch's permutation where the next batch starts
    epoch_perm: torch.Tensor | None = None # the current epoch's shuffle order
    device: torch.device = torch.device("cpu")

    @property
    def batch(self) -> int:
        """This process's share of a mini-batch: ``cfg.batch_size`` (divided by ``world`` under torchrun)."""
        return self.cfg.batch_size // self.world

    def sample_z(self, n: int) -> torch.Tensor:
        """``(n, nz)`` standard normal noise from the run's generator, on the device (under torchrun: this
        rank's share of noise drawn for all ranks, so that every rank's RNG stays in step)."""
        z = torch.randn(n * self.world, self.cfg.nz, generator=self.generator)
        return (z if self.world == 1 else z[dist.share(n * self.world, self.rank, self.world)]).to(self.device)

    def sample_labels(self, n: int) -> torch.Tensor | None:
        """``(n,)`` uniform class labels for a conditional run, else None (shared like :meth:`sample_z`)."""
        if not self.cfg.n_classes:
            return None
        y = torch.randint(self.cfg.n_classes, (n * self.world,), generator=self.generator)
        return (y if self.world == 1 else y[dist.share(n * self.world, self.rank, self.world)]).to(self.device)

    def state_dict(self) -> dict:
        """The whole run as plain values and tensors (what a checkpoint holds)."""
        return {"config": self.cfg.to_dict(), "data": self.data_id,
                "G": dist.unwrap(self.G).state_dict(), "D": dist.unwrap(self.D).state_dict(),
                "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
                "step": self.step, "epoch": self.epoch, "epoch_pos": self.epoch_pos, "epoch_perm": self.epoch_perm,
                "fixed_noise": self.fixed_noise.cpu(),
                "fixed_labels": None if self.fixed_labels is None else self.fixed_labels.cpu(),
                "history": self.history.to_dict(), "rng": ckpt.rng_state(self.generator)}

    def load_state_dict(self, state: dict) -> None:
        """Continue from ``state`` (from :meth:`state_dict`); nets and optimisers must be built alike."""
        dist.unwrap(self.G).load_state_dict(state["G"])
        dist.unwrap(self.D).load_state_dict(state["D"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.fixed_noise = state["fixed_noise"].to(self.device)
        labels = state["fixed_labels"]
        self.fixed_labels = None if labels is None else labels.to(self.device)
        self.history = History.from_dict(state["history"])
        self.step, self.epoch, self.epoch_pos = state["step"], state["epoch"], state["epoch_pos"]
        self.epoch_perm = state["epoch_perm"]
        ckpt.set_rng_state(state["rng"], self.generator)


def make_optimizer(params, cfg: Config, lr: float | None = None) -> torch.optim.Optimizer:
    """Adam(lr, (beta1, beta2)) or RMSprop(lr), as ``cfg.optimizer`` says; ``lr`` default: ``cfg.lr``."""
    lr = cfg.lr if lr is None else lr
    if cfg.optimizer == "adam":  # foreach: one update over all the tensors at once (the same numbers, faster)
        return torch.optim.Adam(params, lr=lr, betas=(cfg.beta1, cfg.beta2), foreach=True)
    if cfg.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    raise ValueError(f"Unknown optimizer {cfg.optimizer!r}; use adam or rmsprop.")


# ---------------------------------------------------------------- the training step
class GANStep:
    """One step of Algorithm 1: ``k`` updates of D, each on its own real batch, then one update of G.

    The one protocol for every variation of training. ``step(run, batches)`` takes the :class:`Run` and
    ``k`` real batches ``[(x (B, ...), y (B,) or None), ...]`` and returns the step's statistics. A
    variation subclasses it and overrides ONE method (see ganlib.steps):

    * ``d_loss(run, real, y, fake, y_fake, real_out, fake_out)`` -- D's loss (loss terms: the matching-aware
      D and the gradient penalty are added here, switched by the Config);
    * ``g_loss(run, z, fake, fake_out)`` -- G's loss (the mode-seeking term is added here);
    * ``g_opponent(run, batch_size)`` -- the D that G plays against (the unrolled GAN: D after K more steps);
    * ``g_step(run)`` -- the whole G update (a frozen G, a gradient probe);
    * ``view(run, x)`` -- what D is shown of real and fake images (``cfg.augment``: DiffAugment).
    """

    def __call__(self, run: Run, batches: list) -> dict:
        # (1) Update D k times: maximise log D(x) + log(1 - D(G(z))), i.e. minimise loss.d
        d_stats = [self.d_step(run, real, y) for real, y in batches]
        # (2) Update G once: make D call the fakes real (non-saturating: maximise log D(G(z)))
        g_stats = self.g_step(run)
        loss_d = sum(torch.as_tensor(s["loss_d"], dtype=torch.float64) for s in d_stats) / len(d_stats)
        return {"loss_d": loss_d, "d_x": d_stats[-1]["d_x"],
                "d_g_z1": d_stats[-1]["d_g_z1"], **g_stats}

    def d_step(self, run: Run, real: torch.Tensor, y: torch.Tensor | None,
               D: nn.Module | None = None, opt_d: torch.optim.Optimizer | None = None) -> dict:
        """One update of D (or of another ``D`` with ``opt_d``) on ``real (B, C, H, W)`` and fresh noise.

        The fakes are made under ``torch.no_grad()``: D's step needs no gradient through G. With
        ``cfg.reuse_fakes`` they are made with G's graph, kept for :meth:`g_step`, and D sees them detached
        (the tutorial's ``.detach()``). Returns ``loss_d``, ``d_x`` and ``d_g_z1`` (D on the fakes, before this
        update).
        """
        keep = run.cfg.reuse_fakes and D is None  # the run's own D step keeps its fakes for G's step
        D, opt_d = D or run.D, opt_d or run.opt_d
        z, y_fake = run.sample_z(real.shape[0]), run.sample_labels(real.shape[0])
        with torch.set_grad_enabled(keep), autocast(run):
            fake = run.G(z, y_fake)
        if keep:
            self.kept, fake = (z, y_fake, fake), fake.detach()
        opt_d.zero_grad(set_to_none=True)
        real, fake = self.view(run, real), self.view(run, fake)  # what D is shown (DiffAugment augments it)
        with autocast(run):
            real_out, fake_out = D(real, y), D(fake, y_fake)
            loss_d = self.d_loss(run, real, y, fake, y_fake, real_out, fake_out, D)
        backward_and_step(run, loss_d, opt_d)
        if run.loss.clip is not None:  # WGAN: keep the critic's weights in [-c, c]
            with torch.no_grad():
                for p in D.parameters():
                    p.clamp_(-run.loss.clip, run.loss.clip)
        return {"loss_d": loss_d.detach(), "d_x": run.loss.stat(real_out.detach()),
                "d_g_z1": run.loss.stat(fake_out.detach())}

    def d_loss(self, run: Run, real, y, fake, y_fake, real_out, fake_out, D: nn.Module) -> torch.Tensor:
        """D's loss: ``cfg.loss``'s D part, with the matching-aware term and the gradient penalty if asked."""
        if run.cfg.matching_d:
            wrong = L.wrong_labels(y, run.cfg.n_classes, run.generator)
            loss_d = L.matching_aware(run.loss, real_out, fake_out, D(real, wrong), run.cfg.real_label)
        else:
            loss_d = run.loss.d(real_out, fake_out, run.cfg.real_label)
        if run.loss.gp_weight:  # in float32 even under autocast (the penalty differentiates D's gradient)
            with torch.autocast(run.device.type, enabled=False):
                loss_d = loss_d + run.loss.gp_weight * L.gradient_penalty(D, real, fake.float(), y, run.generator)
        return loss_d

    def g_step(self, run: Run) -> dict:
        """One update of G on fresh noise (or, with ``cfg.reuse_fakes``, on the D step's noise and fakes);
        returns ``loss_g`` (its adversarial part) and ``d_g_z2``."""
        n = run.batch
        kept, self.kept = getattr(self, "kept", None), None
        z, y_fake, fake = kept if kept is not None else (run.sample_z(n), run.sample_labels(n), None)
        if run.cfg.mode_seeking:  # pairs of samples share a label (the mode-seeking term compares them)
            y_fake = L.pair_labels(y_fake)
        D = self.g_opponent(run, n)
        run.opt_g.zero_grad(set_to_none=True)
        with autocast(run):
            fake = run.G(z, y_fake) if fake is None else fake
            fake_out = D(self.view(run, fake), y_fake)
            adversarial = run.loss.g(fake_out)
            loss_g = self.g_loss(run, z, fake, adversarial)
        trainable = [p for p in run.G.parameters() if p.requires_grad]
        backward_and_step(run, loss_g, run.opt_g, inputs=trainable or None)
        return {"loss_g": adversarial.detach(), "d_g_z2": run.loss.stat(fake_out.detach())}

    def g_loss(self, run: Run, z, fake, adversarial: torch.Tensor) -> torch.Tensor:
        """G's loss: the adversarial part, plus the mode-seeking term if ``cfg.mode_seeking`` > 0."""
        if run.cfg.mode_seeking:
            return adversarial + L.mode_seeking(fake, z, run.cfg.mode_seeking)
        return adversarial

    def g_opponent(self, run: Run, batch_size: int) -> Callable:
        """The D that G's update is measured against: today's D (the plain module: G's step needs no gradient
        for D's weights, so none is computed, nor exchanged between processes under torchrun)."""
        return dist.unwrap(run.D)

    def view(self, run: Run, x: torch.Tensor) -> torch.Tensor:
        """What D is shown of the images ``x (B, C, H, W)``, real or fake, in D's and in G's step: ``x`` itself,
        or ``x`` through the random differentiable augmentations ``cfg.augment`` names (DiffAugment)."""
        return L.diff_augment(x, run.cfg.augment, run.generator) if run.cfg.augment else x


def autocast(run: Run):
    """Mixed precision for the forward passes on a GPU (``run.precision`` bf16 or fp16); nothing on fp32."""
    if run.precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(run.device.type, dtype=torch.bfloat16 if run.precision == "bf16" else torch.float16)


def backward_and_step(run: Run, loss: torch.Tensor, opt: torch.optim.Optimizer, inputs: list | None = None) -> None:
    """``loss.backward(); opt.step()``, through the GradScaler when training in fp16; ``inputs``: the only
    tensors that get gradients (G's step: G's weights, not D's)."""
    if run.scaler is None:
        loss.backward(inputs=inputs)
        opt.step()
    else:
        run.scaler.scale(loss).backward(inputs=inputs)
        run.scaler.step(opt)
        run.scaler.update()


def choose_precision(device: torch.device, precision: str | None = None) -> str:
    """``precision`` if given; else fp32 off CUDA (the CPU path is the bit-exact reference), and on CUDA bf16
    where the GPU has it (Ampere and newer) or fp16 with a GradScaler (e.g. Colab's T4)."""
    if precision is not None:
        if precision not in ("fp32", "bf16", "fp16"):
            raise ValueError(f"precision={precision!r}; use fp32, bf16 or fp16.")
        return precision
    if device.type != "cuda":
        return "fp32"
    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


# ---------------------------------------------------------------- snapshots
def image_snapshot(run: Run, nrow: int | None = None) -> np.ndarray:
    """G's images for the fixed noise as one uint8 grid ``(H, W, C)``; G in eval mode, no gradients."""
    from torchvision.utils import make_grid

    with eval_mode(run.G):
        fake = run.G(run.fixed_noise, run.fixed_labels).float().cpu()
    if nrow is None:  # conditional: one row per class; else as square as possible
        nrow = len(fake) // run.cfg.n_classes if run.cfg.n_classes else int(math.ceil(math.sqrt(len(fake))))
    grid = make_grid(fake, nrow=nrow, padding=2, pad_value=1.0)  # (3, H, W) in [-1, 1]
    if fake.shape[1] == 1:
        grid = grid[:1]  # make_grid copies gray images to 3 channels; keep one (a third of the memory)
    return as_frame(to_uint8(grid).permute(1, 2, 0))


def blank_frame(run: Run) -> np.ndarray:
    """A 1x1 black frame: the ``snapshot`` for runs whose pictures nobody looks at (saves time)."""
    return np.zeros((1, 1, 3), np.uint8)


def default_fixed_labels(cfg: Config) -> torch.Tensor | None:
    """For a conditional run: a grid whose row i asks for class i, ``n_fixed // n_classes`` per row."""
    if not cfg.n_classes:
        return None
    per_row = max(1, cfg.n_fixed // cfg.n_classes)
    return torch.arange(cfg.n_classes).repeat_interleave(per_row)


# ---------------------------------------------------------------- start or resume
def data_identity(data) -> dict:
    """What a run trains on: ``source``, ``count``, ``shape`` of one sample and a cheap ``fingerprint``
    (a hash of 16 evenly spread samples and their labels). Stored in checkpoints; resume compares it."""
    n = len(data)
    index = torch.linspace(0, n - 1, min(n, 16)).long()
    x, y = data.get(index)
    h = hashlib.sha1(x.detach().cpu().contiguous().numpy().tobytes())
    if y is not None:
        h.update(y.cpu().numpy().tobytes())
    source = getattr(data, "source", "").split(" (first ")[0]
    return {"source": source, "count": n, "shape": list(x.shape[1:]), "fingerprint": h.hexdigest()[:16]}


def new_run(cfg: Config, G: nn.Module, D: nn.Module, data, device: torch.device | None = None,
            precision: str | None = None, sync_bn: bool = False) -> Run:
    """A fresh run on ``data``: seeded RNG, optimisers, fixed noise (drawn once, before training).

    On a CUDA device the nets use the channels_last layout, cuDNN picks its fastest kernels, and the
    precision is chosen by :func:`choose_precision`; on the CPU nothing changes (fp32, the reference).
    """
    rank, world, device = dist.setup(device)
    device = device or best_device()
    generator = seed_everything(cfg.seed)
    G, D = G.to(device), D.to(device)
    precision = choose_precision(device, precision)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        G, D = G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
    if world > 1:
        dist.share(cfg.batch_size, rank, world)  # refuses a batch that does not split evenly
        G, D = dist.wrap(G, device, sync_bn), dist.wrap(D, device, sync_bn)
    fixed_labels = default_fixed_labels(cfg)
    if fixed_labels is not None:  # one z per column, shared by every row: a column is one "style"
        per_row = len(fixed_labels) // cfg.n_classes
        fixed_noise = torch.randn(per_row, cfg.nz, generator=generator).repeat(cfg.n_classes, 1)
        fixed_labels = fixed_labels.to(device)
    else:
        fixed_noise = torch.randn(cfg.n_fixed, cfg.nz, generator=generator)
    return Run(cfg=cfg, G=G, D=D, opt_g=make_optimizer(G.parameters(), cfg),
               opt_d=make_optimizer(D.parameters(), cfg, lr=cfg.lr_d), fixed_noise=fixed_noise.to(device),
               fixed_labels=fixed_labels, history=History(), generator=generator, data_id=data_identity(data),
               loss=L.get(cfg.loss), precision=precision,
               scaler=torch.amp.GradScaler(device.type) if precision == "fp16" else None, rank=rank, world=world,
               device=device)


def start_or_resume(G: nn.Module, D: nn.Module, data, cfg: Config, checkpoint=None,
                    device: torch.device | None = None, precision: str | None = None, sync_bn: bool = False) -> Run:
    """A fresh :class:`Run`, or the one saved at ``checkpoint`` if that file exists.

    Refuses, before any work, a checkpoint path that cannot be written, a checkpoint of another
    configuration or of other data, and a file that is not a whole run (e.g. a generator-only file).
    """
    if len(data) < cfg.batch_size * cfg.k:
        raise ValueError(f"{len(data)} training samples give fewer than k={cfg.k} batches of batch_size="
                         f"{cfg.batch_size}: lower batch_size or k, or train on more samples.")
    run = new_run(cfg, G, D, data, device, precision, sync_bn)
    if checkpoint is None:
        return run
    ckpt.check_writable(checkpoint)
    if ckpt.exists(checkpoint):
        state = ckpt.read_run(checkpoint, cfg, run.data_id)
        try:
            run.load_state_dict(state)
        except RuntimeError as err:  # the same config cannot build other nets, but a hand-built G or D can
            raise ValueError(f"{checkpoint} holds weights of other networks than the G and D given here: "
                             f"{str(err)[:300]}") from None
        print(f"Resuming {checkpoint}: {run.step} G updates done, epoch {run.epoch}.")
    return run


# ---------------------------------------------------------------- bookkeeping
class Bookkeeper:
    """Everything around the steps: statistics, progress bar and log lines, snapshots, callbacks, lr
    decay, checkpoints; divergence checks; an interrupt (Ctrl-C) lets the current step finish, saves,
    then stops, so that a resumed run equals an uninterrupted one."""

    def __init__(self, run: Run, data, checkpoint=None, callbacks: dict | None = None,
                 snapshot: Callable | None = None, progress: bool = True, checkpoint_every: int | None = None):
        from tqdm.auto import tqdm

        cfg = run.cfg
        progress = progress and run.rank == 0  # under torchrun only rank 0 prints, snapshots and saves
        self.run, self.checkpoint, self.progress, self.every = run, checkpoint, progress, checkpoint_every
        self.snapshot = snapshot or image_snapshot
        self.callbacks = {k: (list(v) if isinstance(v, (list, tuple)) else [v]) for k, v in (callbacks or {}).items()}
        unknown = set(self.callbacks) - set(EVENTS)
        if unknown:
            raise ValueError(f"Unknown callback events {sorted(unknown)}; use {', '.join(EVENTS)}.")
        self.n_batches = len(data) // cfg.batch_size
        self.total = (self.n_batches // cfg.k) * cfg.num_epochs
        if cfg.max_steps is not None:
            self.total = min(self.total, cfg.max_steps)
        self.saved_step = run.step if checkpoint and ckpt.exists(checkpoint) else None
        self.stepping = False  # True while a step is under way (its state is then not saved)
        self.pending: list = []  # statistics of counted steps not yet read back from the device
        if progress:
            d = run.data_id
            print(f"{cfg.name} ({cfg.size}): {d['count']} training samples from {d['source'] or 'the given data'}; "
                  f"{self.total} G updates in all ({run.step} done), batch {cfg.batch_size}, k={cfg.k}, on {run.device}.")
        if progress and cfg.size == "full" and run.device.type == "cpu" and run.step < self.total:
            print(f"WARNING: a FULL-size run ({self.total} G updates) is starting on the CPU; the time it will "
                  "take is printed after the first step. A GPU is meant for this size.")
        self.bar = tqdm(total=self.total, initial=run.step, disable=not progress, desc=cfg.name, unit="step")
        if not run.history.snapshot_steps and run.step == 0:  # the starting point: G before any training
            self.take_snapshot()

    def emit(self, event: str) -> None:
        for fn in self.callbacks.get(event, []):
            fn(self.run)

    def record(self, stats: dict, seconds: float) -> None:
        """Count a finished step: check it, keep its statistics, report, snapshot, call back, decay lr, save.

        On a GPU the statistics stay on the device and are read back every ``SYNC_EVERY`` steps (and before
        snapshots, callbacks and saves) in one transfer, so the GPU is not stopped after every step.
        """
        run, cfg = self.run, self.run.cfg
        step = run.step + 1
        self.pending.append({**stats, "epoch": run.epoch, "seconds": seconds, "step": step})
        snap = step % cfg.snapshot_every == 0 or step == self.total
        save = bool(self.every) and step % self.every == 0
        if run.device.type != "cuda" or self.callbacks or snap or save or step % SYNC_EVERY == 0:
            self.flush()  # raises before the step is counted when it diverged
        run.step = step
        self.stepping = False  # from here on the run stands between two steps
        if snap:
            self.flush()
            self.take_snapshot()
            self.emit("on_snapshot")
        self.emit("on_step_end")
        if cfg.lr_decay is not None:
            decay_lr(run)
        if save:
            self.save()

    def take_snapshot(self) -> None:
        """Add the snapshot of this moment to the History (rank 0 only, with the plain nets: no DDP exchange)."""
        run = self.run
        if run.rank != 0:
            return
        G, D = run.G, run.D
        run.G, run.D = dist.unwrap(G), dist.unwrap(D)
        try:
            run.history.add_snapshot(run.step, self.snapshot(run))
        finally:
            run.G, run.D = G, D

    def flush(self) -> None:
        """Read the pending statistics back (one transfer on a GPU), check them, keep them, report them."""
        if not self.pending:
            return
        keys = ("loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2")
        if self.run.device.type == "cuda":
            values = torch.stack([torch.as_tensor(p[k], dtype=torch.float64, device=self.run.device).reshape(())
                                  for p in self.pending for k in keys]).tolist()
        else:
            values = [float(p[k]) for p in self.pending for k in keys]
        pending, self.pending = self.pending, []
        for i, p in enumerate(pending):
            stats = {**dict(zip(keys, values[5 * i:5 * i + 5])), "epoch": p["epoch"], "seconds": p["seconds"]}
            self.check(stats, p["step"])
            self.run.history.append(**stats)
            self.report(stats, p["step"])

    def report(self, stats: dict, step: int) -> None:
        run, cfg = self.run, self.run.cfg
        self.bar.update(1)
        if not self.progress:
            return
        if step % max(1, cfg.log_every // 5) == 0 or step == self.total:
            self.bar.set_postfix(Loss_D=f"{stats['loss_d']:.3f}", Loss_G=f"{stats['loss_g']:.3f}",
                                 Dx=f"{stats['d_x']:.3f}", DGz=f"{stats['d_g_z1']:.3f}/{stats['d_g_z2']:.3f}",
                                 refresh=False)
        if step % cfg.log_every == 0 or step == 1:
            self.bar.write(f"[{stats['epoch']}/{cfg.num_epochs}][{run.epoch_pos // cfg.batch_size}/{self.n_batches}]\t"
                           f"Loss_D: {stats['loss_d']:.4f}\tLoss_G: {stats['loss_g']:.4f}\tD(x): {stats['d_x']:.4f}\t"
                           f"D(G(z)): {stats['d_g_z1']:.4f} / {stats['d_g_z2']:.4f}")
        if step == 1 and cfg.size == "full" and run.device.type == "cpu":
            hours = stats["seconds"] * (self.total - 1) / 3600
            self.bar.write(f"WARNING: this FULL-size run is on the CPU: about {hours:.1f} hours for {self.total} G "
                           f"updates at {stats['seconds']:.1f} s each. Use a GPU (Colab: Runtime > Change runtime "
                           "type > GPU), or set GANLIB_SIZE=book.")

    def check(self, stats: dict, step: int) -> None:
        """Stop on a diverged step: a loss that is not finite or beyond LOSS_LIMIT."""
        bad = [k for k in ("loss_d", "loss_g") if not (math.isfinite(stats[k]) and abs(stats[k]) < LOSS_LIMIT)]
        if bad:
            self.diverged(f"{', '.join(bad)} became {stats[bad[0]]:.4g}", step)

    def diverged(self, what: str, step: int):
        run = self.run
        where = (f"The last good checkpoint is {self.checkpoint} (G update {self.saved_step})."
                 if self.saved_step is not None else "No checkpoint of this run was written.")
        raise FloatingPointError(
            f"{what} at G update {step} (epoch {run.epoch}): training diverged. Lower the learning rate "
            f"(lr={run.cfg.lr}), check that the data lie in [-1, 1], or use a gentler loss. {where} "
            "Nothing diverged was saved.")

    def save(self) -> None:
        """Write the checkpoint (if any), never with non-finite weights."""
        self.flush()
        if self.checkpoint is None or self.run.rank != 0:
            return
        nets = [self.run.G, self.run.D]
        if not all(torch.isfinite(p).all() for net in nets for p in net.parameters()):
            self.diverged("the weights became non-finite", self.run.step)
        ckpt.save(self.checkpoint, self.run.state_dict())
        self.saved_step = self.run.step

    def end_epoch(self) -> None:
        run = self.run
        run.epoch += 1
        run.epoch_perm, run.epoch_pos = None, 0
        self.emit("on_epoch_end")
        self.save()

    def finish(self) -> None:
        self.flush()
        self.bar.close()
        self.save()
        self.emit("on_train_end")


def decay_lr(run: Run) -> None:
    """Both learning rates fall linearly from ``cfg.lr`` (D: ``cfg.lr_d`` if set) to ``cfg.lr_decay`` times that
    at ``cfg.max_steps``."""
    cfg = run.cfg
    factor = 1 - (1 - cfg.lr_decay) * min(1.0, run.step / cfg.max_steps)
    for opt, lr in ((run.opt_g, cfg.lr), (run.opt_d, cfg.lr if cfg.lr_d is None else cfg.lr_d)):
        for group in opt.param_groups:
            group["lr"] = lr * factor


def on_device(data, device: torch.device):
    """On a GPU, the training images moved there once (still uint8: 4x smaller than floats), so that no batch
    is copied from the host again. Elsewhere ``data`` itself."""
    if device.type != "cuda" or not hasattr(data, "images"):
        return data
    labels = None if data.labels is None else data.labels.to(device)
    return type(data)(data.images.to(device), labels, data.source)


def next_batches(run: Run, data) -> list | None:
    """The next ``k`` real batches of the epoch (on the device), or None when fewer than ``k`` are left."""
    cfg = run.cfg
    if run.epoch_perm is None:  # start a new epoch
        run.epoch_perm, run.epoch_pos = torch.randperm(len(data), generator=run.generator), 0
    if (len(data) - run.epoch_pos) // cfg.batch_size < cfg.k:
        return None
    batches = []
    for _ in range(cfg.k):
        index = run.epoch_perm[run.epoch_pos:run.epoch_pos + cfg.batch_size]
        x, y = data.get(index if run.world == 1 else index[dist.share(cfg.batch_size, run.rank, run.world)])
        run.epoch_pos += cfg.batch_size
        if run.device.type == "cuda" and x.dim() == 4:
            x = x.to(run.device, memory_format=torch.channels_last)
        batches.append((x.to(run.device), None if (y is None or not cfg.n_classes) else y.to(run.device)))
    return batches


@contextlib.contextmanager
def deferred_interrupt():
    """Inside the block, Ctrl-C (SIGINT) only raises a flag; ``flag["hit"]`` tells. A second Ctrl-C
    interrupts at once. Outside the main thread nothing changes."""
    flag = {"hit": False}
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum, frame):
        flag["hit"] = True
        signal.signal(signal.SIGINT, previous)  # a second Ctrl-C stops at once
        print("\nInterrupt: finishing the current step, then saving. Press again to stop at once.")

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


# ---------------------------------------------------------------- the loop
def fit(G: nn.Module, D: nn.Module, data, cfg: Config, checkpoint=None, step: GANStep | None = None,
        callbacks: dict | None = None, snapshot: Callable[[Run], np.ndarray] | None = None, progress: bool = True,
        checkpoint_every: int | None = None, device: torch.device | None = None,
        precision: str | None = None, sync_bn: bool = False) -> Run:
    """Train ``G`` against ``D`` on ``data`` as ``cfg`` says; returns the :class:`Run`.

    Args:
        data: ``len(data)`` samples, ``data.get(index) -> (x (B, ...), y (B,) or None)`` (e.g.
            :class:`ganlib.data.ImageData`, :class:`ganlib.data.TensorData`).
        checkpoint: path of the run's checkpoint. If the file exists, the run **resumes** from it (and
            refuses if the configuration or the data differ); it is (re)written atomically at the end of
            every epoch, every ``checkpoint_every`` G updates, at the end, and when training is interrupted.
        step: the training step (default :class:`GANStep`; variations in ganlib.steps).
        callbacks: ``{"on_step_end": fn, ...}`` (events: %s); each ``fn(run)``; a list of functions is allowed.
        snapshot: ``fn(run) -> uint8 (H, W, C)`` frame taken every ``cfg.snapshot_every`` G updates and at the
            end (default: the fixed-noise image grid).
        device, precision: where and how to train (default: the best device; fp32 on a CPU, bf16 or fp16
            autocast on a GPU, see :func:`choose_precision`).
        sync_bn: under ``torchrun``, normalise BatchNorm with the global batch (see ganlib.distributed).

    Under ``torchrun --nproc_per_node=N`` the same call trains data-parallel (ganlib.distributed): each
    process takes its share of every batch; rank 0 prints, snapshots and saves.
    """
    run = start_or_resume(G, D, data, cfg, checkpoint, device, precision, sync_bn)
    data = on_device(data, run.device)
    step = step or GANStep()
    book = Bookkeeper(run, data, checkpoint, callbacks, snapshot, progress, checkpoint_every)
    run.G.train(), run.D.train()
    with deferred_interrupt() as interrupt:
        try:
            while run.step < book.total and not interrupt["hit"]:
                t0 = time.perf_counter()
                book.stepping = True
                batches = next_batches(run, data)
                if batches is None:  # fewer than k batches left: the epoch is over
                    book.stepping = False
                    book.end_epoch()
                    continue
                book.record(step(run, batches), time.perf_counter() - t0)
        except KeyboardInterrupt:  # raised directly (not by Ctrl-C, which only sets the flag)
            raise_interrupted(book, consistent=not book.stepping)
        if interrupt["hit"]:
            raise_interrupted(book, consistent=True)
    book.finish()
    return run


def raise_interrupted(book: Bookkeeper, consistent: bool):
    """Save (if the run stands between two steps) and raise KeyboardInterrupt with what was kept."""
    book.bar.close()
    run, path = book.run, book.checkpoint
    if consistent:
        book.save()
        kept = f"; saved to {path}" if path else ""
    else:
        kept = (f"; the checkpoint {path} keeps G update {book.saved_step}" if book.saved_step is not None
                else "; nothing was saved") + " (the interrupted step was not finished, so it was not saved)"
    print(f"Interrupted after {run.step} G updates{kept}.")
    raise KeyboardInterrupt(f"training interrupted after {run.step} G updates{kept}") from None


fit.__doc__ = fit.__doc__ % ", ".join(EVENTS)
