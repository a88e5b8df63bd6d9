"""Run configuration: the Config of a training run, the chapters' own settings, sizes, device and seeding.

Every chapter starts from a named preset (``gl.preset("dcgan-mnist")``, see :mod:`ganlib.presets`) and one
switch, the environment variable ``GANLIB_SIZE``, picks how big the run is:

* ``quick`` -- seconds on a CPU; used by CI (nbval). Proves that the code path runs, nothing more.
* ``book``  -- the CPU default; a result a reader recognises in minutes on a laptop.
* ``full``  -- the source documents' own settings; meant for a GPU (Colab). The default where CUDA is there.

A Config is checked when it is made: an impossible number (a batch of 0, k = -1, ...) is refused at once,
naming the field, the value and the allowed range.

Floor 0 (imports nothing from ganlib). Taught in: every chapter's first cells ("What this run is").
"""
from __future__ import annotations

import dataclasses
import math
import os
import random
from dataclasses import dataclass, field

import numpy as np
import torch

SIZES = ("quick", "book", "full")
_told: set = set()  # the automatic size choice is explained once per process


def size() -> str:
    """The run size: ``GANLIB_SIZE`` (quick | book | full) if set, else ``full`` with CUDA, ``book`` without.

    The automatic choice is printed with its reason the first time it is made.
    """
    value = os.environ.get("GANLIB_SIZE", "").strip().lower()
    if value in ("", "auto"):
        value, why = (("full", "a CUDA GPU is available") if torch.cuda.is_available()
                      else ("book", "no CUDA GPU is available"))
        if value not in _told:
            _told.add(value)
            print(f"GANLIB_SIZE is not set: using {value!r} because {why}. Set GANLIB_SIZE=quick|book|full "
                  "(or the size field of the first cell) to choose.")
        return value
    if value not in SIZES:
        raise ValueError(f"GANLIB_SIZE={value!r} is not a size; use one of {', '.join(SIZES)} (or auto).")
    return value


# ---------------------------------------------------------------- the chapters' own settings
# Settings that only one chapter reads. Each chapter's preset names one of these types; its fields are
# typed and documented here, so that no module reads free-form keys out of a dict.
@dataclass(frozen=True)
class Toy1D:
    """Chapters 1 and 3: the 1-D toys (ganlib.toy1d)."""

    p_data: str = "two-bumps"     # the data distribution: a key of ganlib.toy1d.DISTRIBUTIONS
    x_range: tuple = (-4.0, 4.0)  # the x-axis of the pictures and of the density grid
    n_bins: int = 400             # bins of that grid (densities, JSD on the grid)
    jsd_every: int = 20           # G updates between two JSD(p_data, p_g) measurements
    w1_tol: float = 0.1           # chapter 1: the largest 1-Wasserstein distance accepted for the learned map
    frozen_steps: int = 2000      # chapter 3, D alone against a frozen G: D steps
    frozen_batch: int = 1024      # ... their batch size
    frozen_lr: float = 1e-2       # ... Adam's lr, cosine-annealed to 0 (plain supervised learning)
    frozen_beta1: float = 0.9     # ... Adam's beta1 (the usual 0.9 here: D has a fixed target)
    frozen_frames: int = 10       # ... snapshots of that phase
    min_rebound: float | None = None  # chapter 3 (book size): k = 1 and 2 end at least this many times above their best JSD
    loss_d_tol: float | None = None   # chapter 3 (book size): |Loss_D over the last 10% - 2 ln 2| at most this


@dataclass(frozen=True)
class Faces:
    """Chapter 4: which faces, the small comparison runs, and the checks of its results (ganlib.faces)."""

    dataset: str = "auto"         # auto | celeba | lfw | offline (auto: the first that is available)
    download: bool = False        # download LFW when it is missing (CelebA is never downloaded for you)
    workers: int = 0              # processes decoding JPEGs, once, into the uint8 cache
    side_steps: int = 300         # G updates of each comparison run (label smoothing, init std, resize-conv)
    n_nearest: int = 256          # generated faces (and real ones, for the baseline) in the memorisation check
    copy_ratio: float = 0.5       # ... no generated face may be nearer a training face than this times
                                  # the distance of the closest pair of different real faces
    arithmetic_shift: float | None = None  # z arithmetic: least move of the result's attributes, in standard
                                  # deviations of G's faces (None: shown, not checked; an untrained G barely varies)
    skip_bad: bool = False        # skip unreadable image files instead of stopping
    lfw_crop: int | None = None   # centre crop of LFW's 250 px pictures before resizing (None: the default)


@dataclass(frozen=True)
class Conditional:
    """Chapter 6: how the conditional GAN is measured."""

    n_per_class: int = 500        # generated digits per class for the class accuracy and per-class Frechet
    # The chapter's targets, checked by ganlib.conditional.check_class_accuracy; None: not checked at this
    # size (the quick size only proves that the code runs, so its targets are None).
    min_accuracy: float | None = None        # the overall class accuracy the trained G must reach
    min_class_accuracy: float | None = None  # ... and the worst single class


@dataclass(frozen=True)
class Toy2D:
    """Chapters 7 and 8: the 2-D mixtures (ganlib.toy2d)."""

    kind: str = "ring"            # ring (8 Gaussians on a circle) | grid (5x5 Gaussians)
    std: float = 0.05             # standard deviation of each Gaussian
    n_shown: int = 500            # data points drawn under G's samples in each frame
    sigma: float = 0.1            # "what the critic's number means": std of the blob that is moved
    # Chapter 7's targets, checked by ganlib.variants.check_ring / check_shift; None: not checked at this size.
    min_modes: int | None = None          # the ring: the best loss covers at least this many modes
    min_hq: float | None = None           # the ring: the best loss's high-quality share is at least this
    saturation_tol: float | None = None   # the shift: a cross-entropy D reads ln 2 within this once d >= 0.7
    w1_rel_tol: float | None = None       # the shift: the WGAN-GP critic reads d within this share of d there


@dataclass(frozen=True)
class Variants:
    """Chapter 7 on MNIST: how each loss's run is scored."""

    n_eval: int = 1000            # generated digits per run for the MNIST score and Frechet distance
    losses: tuple | None = None   # the losses trained on MNIST (None: all six of ganlib.variants.NAMES)
    # Targets, checked by ganlib.variants.check_mnist; None: not checked at this size.
    min_best_score: float | None = None     # the best loss's MNIST score is at least this
    max_best_frechet: float | None = None   # the best loss's Frechet distance is below this


@dataclass(frozen=True)
class Digits:
    """Chapter 5: what the improved DCGAN on MNIST (preset dcgan-mnist-plus) must reach on 1,000 samples.

    Checked by ganlib.metrics.check_targets; None: not checked at this size.
    """

    min_score: float | None = None        # its MNIST score is at least this
    max_frechet: float | None = None      # its Frechet distance to the training digits is at most this
    min_class_share: float | None = None  # every digit is at least this share of its samples


CHAPTER_SETTINGS = {cls.__name__: cls for cls in (Toy1D, Faces, Conditional, Toy2D, Variants, Digits)}


# ---------------------------------------------------------------- the run's configuration
@dataclass
class Config:
    """Everything that decides a training run; saved inside every checkpoint.

    The field names follow the sources (PyTorch DCGAN tutorial; source 002 explains each one).
    """

    name: str = "custom"          # preset name, shown in logs and checked on resume
    size: str = "book"            # quick | book | full, see the module docstring
    # data
    dataroot: str = "data"        # folder for downloads and the uint8 image cache
    image_size: int = 64          # side of the square training images, in pixels (32 or 64 for DCGAN)
    nc: int = 1                   # image channels: 1 for MNIST, 3 for colour faces
    n_train: int | None = None    # use only the first n_train training samples (None: all)
    n_classes: int = 0            # > 0 turns on class conditioning (conditional GAN chapter)
    # models
    arch: str = "dcgan"           # dcgan | project | mlp | smallconv | mlp1d | toy2d, see ganlib.models.build
    nz: int = 100                 # length of the latent vector z
    ngf: int = 64                 # width of the generator: channels of its last hidden layer (MLPs: units)
    ndf: int = 64                 # width of the discriminator: channels of its first hidden layer (MLPs: units)
    bias: bool = False            # biases in conv layers (the tutorial: off, 001's MNIST net: on)
    init_std: float = 0.02        # std of the N(0, std^2) conv weight init (DCGAN paper; source 000 wrote 0.2)
    spectral_norm: bool = False   # D: weights / their largest singular value, no BatchNorm (SN-GAN, Miyato et al.)
    upsample: str = "convtranspose"  # G's x2 upsampling (dcgan, project): convtranspose (4x4 stride 2, DCGAN)
                                  # | resize (nearest x2, then a 3x3 conv: no checkerboard, Odena et al.)
    g_depth: int = 2              # toy MLPs (mlp1d, toy2d): hidden layers of G
    d_depth: int = 2              # toy MLPs: hidden layers of D
    g_activation: str = "relu"    # toy MLPs: G's activation (relu | leaky_relu | smooth_leaky_relu | tanh | elu)
    g_sharpness: float = 1.0      # smooth_leaky_relu only: the kink is rounded off over about 1 / sharpness
    pack: int = 1                 # PacGAN (Lin et al.): D judges `pack` samples at once (toy2d)
    # optimisation
    batch_size: int = 128         # images per mini-batch (m in Algorithm 1)
    num_epochs: int = 5           # passes over the training images
    max_steps: int | None = None  # stop after this many G updates even mid-epoch (None: no cap)
    optimizer: str = "adam"       # adam | rmsprop (WGAN with clipping uses RMSProp, Arjovsky et al.)
    lr: float = 2e-4              # learning rate for both nets (DCGAN paper: Adam 2e-4); G's alone if lr_d is set
    lr_d: float | None = None     # D's own learning rate (two time-scale update rule, Heusel et al.); None: lr
    lr_decay: float | None = None  # both lrs fall linearly to lr * lr_decay at max_steps (None: constant)
    beta1: float = 0.5            # Adam beta1; 0.5 instead of 0.9 steadies GAN training (DCGAN paper)
    beta2: float = 0.999          # Adam beta2 (WGAN-GP uses 0.9)
    k: int = 1                    # D updates per G update (Algorithm 1 of Goodfellow et al.)
    reuse_fakes: bool = False     # k = 1 only: G's step reuses the D step's noise and fakes (the PyTorch tutorial's
                                  # shortcut: one G forward fewer per step); False: fresh noise for G (Algorithm 1)
    loss: str = "non-saturating"  # name of the loss in ganlib.losses.LOSSES
    real_label: float = 1.0       # target for real images; 0.9 is one-sided label smoothing (source 000)
    augment: str = ""             # DiffAugment (Zhao et al. 2020): D sees every image, real or fake, in both steps
                                  # through these random differentiable changes: "" (none) or a comma list of
                                  # translation, cutout (ganlib.losses.AUGMENTATIONS); against D memorising few data
    matching_d: bool = False      # conditional: real images with wrong labels count as fake (Reed et al.)
    mode_seeking: float = 0.0     # conditional: weight of the mode-seeking term (Mao et al.); 0 is off
    # bookkeeping
    seed: int = 999               # the tutorial's seed; the same seed gives the same run on a CPU
    n_fixed: int = 64             # how many fixed-noise vectors are drawn for the progress snapshots
    snapshot_every: int = 500     # G updates between fixed-noise snapshots (001: every 500 iterations)
    log_every: int = 50           # G updates between printed statistics lines
    chapter: object = None        # the chapter's own settings (Toy1D, Faces, ...), or None

    def __post_init__(self):
        if isinstance(self.chapter, dict):  # read back from a checkpoint or a dict: {"kind": type, "settings": {...}}
            values = dict(self.chapter)
            kind = values.pop("kind")
            self.chapter = CHAPTER_SETTINGS[kind](**values.pop("settings", values))  # (or flat: the fields beside kind)
        validate(self)

    def replace(self, **changes) -> "Config":
        """A copy with some fields changed, e.g. ``cfg.replace(real_label=0.9)`` (checked like a new Config)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """Plain values only, for checkpoints; the chapter settings as ``{"kind": type name, "settings": {...}}``
        (nested: a settings field may itself be called ``kind``, as Toy2D's is)."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        if self.chapter is not None:
            values["chapter"] = {"kind": type(self.chapter).__name__, "settings": dataclasses.asdict(self.chapter)}
        return values

    @classmethod
    def from_dict(cls, values: dict) -> "Config":
        return cls(**values)


# Allowed ranges: field -> (test, words for the message).
_RANGES = {
    "image_size": (lambda v: isinstance(v, int) and 1 <= v <= 1024, "an integer from 1 to 1024"),
    "nc": (lambda v: v in (1, 3), "1 (gray) or 3 (colour)"),
    "n_train": (lambda v: v is None or (isinstance(v, int) and v >= 1), "None (all) or an integer >= 1"),
    "n_classes": (lambda v: isinstance(v, int) and v >= 0, "an integer >= 0"),
    "nz": (lambda v: isinstance(v, int) and v >= 1, "an integer >= 1"),
    "ngf": (lambda v: isinstance(v, int) and v >= 1, "an integer >= 1"),
    "ndf": (lambda v: isinstance(v, int) and v >= 1, "an integer >= 1"),
    "g_depth": (lambda v: isinstance(v, int) and v >= 1, "an integer >= 1"),
    "d_depth": (lambda v: isinstance(v, int) and v >= 1, "an integer >= 1"),
    "pack": (lambda v: isinstance(v, int) and v >= 1, "an integer >= 1"),
    "init_std": (lambda v: v > 0 and math.isfinite(v), "a positive number"),
    "upsample": (lambda v: v in ("convtranspose", "resize"), "convtranspose or resize"),
    "batch_size": (lambda v: isinstance(v, int) and v >= 1, "an integer >= 1"),
    "num_epochs": (lambda v: isinstance(v, int) and v >= 1, "an integer >= 1"),
    "max_steps": (lambda v: v is None or (isinstance(v, int) and v >= 1), "None (no cap) or an integer >= 1"),
    "optimizer": (lambda v: v in ("adam", "rmsprop"), "adam or rmsprop"),
    "lr": (lambda v: 0 < v < math.inf, "a positive finite number"),
    "lr_d": (lambda v: v is None or 0 < v < math.inf, "None (D uses lr) or a positive finite number"),
    "lr_decay": (lambda v: v is None or 0 <= v <= 1, "None or a number in [0, 1]"),
    "beta1": (lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "beta2": (lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "k": (lambda v: isinstance(v, int) and v >= 1, "an integer >= 1 (D steps per G update)"),
    "real_label": (lambda v: 0 < v <= 1, "a number in (0, 1]"),
    "augment": (lambda v: isinstance(v, str) and all(p.strip() in ("translation", "cutout")
                                                     for p in v.split(",") if p.strip()),
                "\"\" or a comma list of translation, cutout"),
    "mode_seeking": (lambda v: v >= 0 and math.isfinite(v), "a number >= 0"),
    "n_fixed": (lambda v: isinstance(v, int) and v >= 1, "an integer >= 1"),
    "snapshot_every": (lambda v: isinstance(v, int) and v >= 1, "an integer >= 1"),
    "log_every": (lambda v: isinstance(v, int) and v >= 1, "an integer >= 1"),
    "size": (lambda v: v in SIZES, " | ".join(SIZES)),
}


def validate(cfg: Config) -> Config:
    """Raise ValueError naming the first field whose value is impossible, and its allowed range."""
    for name, (ok, allowed) in _RANGES.items():
        value = getattr(cfg, name)
        try:
            good = not isinstance(value, bool) and bool(ok(value))
        except TypeError:  # e.g. a string where a number belongs
            good = False
        if not good:
            raise ValueError(f"Config {cfg.name!r}: {name}={value!r} is impossible; it must be {allowed}.")
    if cfg.lr_decay is not None and cfg.max_steps is None:
        raise ValueError(f"Config {cfg.name!r}: lr_decay={cfg.lr_decay} needs max_steps (where the decay ends).")
    if cfg.reuse_fakes and (cfg.k != 1 or cfg.mode_seeking):
        raise ValueError(f"Config {cfg.name!r}: reuse_fakes=True needs k=1 and mode_seeking=0 (it reuses the one D "
                         f"step's fakes; mode seeking draws paired labels); got k={cfg.k}, mode_seeking={cfg.mode_seeking}.")
    if cfg.chapter is not None and type(cfg.chapter) not in CHAPTER_SETTINGS.values():
        raise ValueError(f"Config {cfg.name!r}: chapter={cfg.chapter!r} is not one of {', '.join(CHAPTER_SETTINGS)}.")
    return cfg


def budget(cfg: Config) -> str:
    """How long a run trains, in words: epochs, or a cap on G updates."""
    if cfg.max_steps is None:
        return f"{cfg.num_epochs} epoch(s)"
    return f"{cfg.max_steps} G updates (or {cfg.num_epochs} epoch(s) if that ends sooner)"


def describe(cfg: Config) -> str:
    """One paragraph telling the reader which size runs and what that changes."""
    what = {
        "quick": "QUICK size (CI): a tiny network for a few steps. It proves that the code runs; "
                 "do not expect recognisable pictures.",
        "book": "BOOK size (CPU): a smaller network and budget than the source, chosen to give a "
                "recognisable result in minutes on a laptop CPU.",
        "full": "FULL size: the source documents' own settings. Use a GPU (e.g. Colab).",
    }[cfg.size]
    images = cfg.arch in ("dcgan", "project", "mlp", "smallconv")
    sample = f"images {cfg.nc}x{cfg.image_size}x{cfg.image_size}" if images else "toy points"
    data = "all" if cfg.n_train is None else f"at most {cfg.n_train}"
    return (f"{what}\npreset {cfg.name!r}: {sample}, {data} training samples, batch {cfg.batch_size}, "
            f"{budget(cfg)}, ngf={cfg.ngf}, ndf={cfg.ndf}, nz={cfg.nz}, loss {cfg.loss}, {cfg.optimizer} "
            f"lr {cfg.lr:g}, k={cfg.k}, device {device()}.\n"
            "To change the size, set GANLIB_SIZE=quick|book|full (the first cell's size field on Colab) "
            "and run the notebook again from the top.")


def device() -> torch.device:
    """The best available device: CUDA, then Apple's MPS, then the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch (CPU and CUDA); return a torch.Generator seeded the same way.

    On a CPU this makes a run repeat exactly. cuDNN may still pick non-deterministic kernels on a GPU.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator
