"""Run configuration: sizes, named presets, device choice and seeding.

Every chapter starts from a named preset (``preset("dcgan-mnist")``) and one switch, the environment
variable ``GANLIB_SIZE``, picks how big the run is:

* ``quick`` -- seconds on a CPU; used by CI (nbval). Proves that the code path runs, nothing more.
* ``book``  -- the CPU default; a result a reader recognises in minutes on a laptop.
* ``full``  -- the source documents' own settings; meant for a GPU (Colab).

Taught in: every chapter's first cells ("What this run is").
"""
from __future__ import annotations

import dataclasses
import os
import random
from dataclasses import dataclass, field

import numpy as np
import torch

SIZES = ("quick", "book", "full")
DEFAULT_SIZE = "book"


def size() -> str:
    """The run size named by ``GANLIB_SIZE`` (``quick``, ``book`` or ``full``; default ``book``)."""
    value = os.environ.get("GANLIB_SIZE", DEFAULT_SIZE).strip().lower()
    if value not in SIZES:
        raise ValueError(f"GANLIB_SIZE={value!r} is not a size; use one of {', '.join(SIZES)}.")
    return value


@dataclass
class Config:
    """Everything that decides a training run; saved inside every checkpoint.

    The field names follow the sources (PyTorch DCGAN tutorial; source 002 explains each one).
    """

    name: str = "custom"          # preset name, shown in logs and checked on resume
    size: str = DEFAULT_SIZE      # quick | book | full, see the module docstring
    # data
    dataroot: str = "data"        # folder for downloads and the uint8 image cache
    image_size: int = 64          # side of the square training images, in pixels (32 or 64 for DCGAN)
    nc: int = 1                   # image channels: 1 for MNIST, 3 for colour faces
    n_train: int | None = None    # use only the first n_train training images (None: all)
    n_classes: int = 0            # > 0 turns on class conditioning (conditional GAN chapter)
    # models
    arch: str = "dcgan"           # dcgan | project | mlp | smallconv, see ganlib.models.build
    nz: int = 100                 # length of the latent vector z
    ngf: int = 64                 # width of the generator: channels of its last hidden layer
    ndf: int = 64                 # width of the discriminator: channels of its first hidden layer
    bias: bool = False            # biases in conv layers (the tutorial: off, 001's MNIST net: on)
    init_std: float = 0.02        # std of the N(0, std) conv weight init (DCGAN paper; source 000 wrote 0.2)
    # optimisation
    batch_size: int = 128         # images per mini-batch (m in Algorithm 1)
    num_epochs: int = 5           # passes over the training images
    max_steps: int | None = None  # stop after this many G updates even mid-epoch (None: no cap)
    optimizer: str = "adam"       # adam | rmsprop (WGAN with clipping uses RMSProp, Arjovsky et al.)
    lr: float = 2e-4              # learning rate for both nets (DCGAN paper: Adam 2e-4)
    beta1: float = 0.5            # Adam beta1; 0.5 instead of 0.9 steadies GAN training (DCGAN paper)
    beta2: float = 0.999          # Adam beta2 (WGAN-GP uses 0.9)
    k: int = 1                    # D updates per G update (Algorithm 1 of Goodfellow et al.)
    loss: str = "non-saturating"  # name of the loss in ganlib.losses.LOSSES
    real_label: float = 1.0       # target for real images; 0.9 is one-sided label smoothing (source 000)
    # bookkeeping
    seed: int = 999               # the tutorial's seed; the same seed gives the same run on a CPU
    n_fixed: int = 64             # how many fixed-noise vectors are drawn for the progress snapshots
    snapshot_every: int = 500     # G updates between fixed-noise snapshots (001: every 500 iterations)
    log_every: int = 50           # G updates between printed statistics lines
    extra: dict = field(default_factory=dict)  # chapter-specific settings (kept in the checkpoint too)

    def replace(self, **changes) -> "Config":
        """A copy with some fields changed, e.g. ``cfg.replace(real_label=0.9)``."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "Config":
        return cls(**values)


# Presets: for every chapter, the settings shared by all sizes and what each size changes.
# `full` is always the source documents' own setting.
PRESETS: dict[str, dict] = {
    # Source 001, section 12.4.6: the tutorial's DCGAN with doubled channels and biases, on MNIST at 64 px.
    "dcgan-mnist": {
        "base": dict(arch="dcgan", nc=1, nz=100, bias=True, lr=2e-4, beta1=0.5, seed=999),
        "quick": dict(image_size=32, ngf=8, ndf=8, batch_size=32, n_train=256, num_epochs=1,
                      snapshot_every=2, log_every=4, n_fixed=16),
        "book": dict(image_size=32, ngf=32, ndf=32, batch_size=64, n_train=None, num_epochs=10,
                     snapshot_every=40, log_every=50),
        "full": dict(image_size=64, ngf=128, ndf=128, batch_size=128, num_epochs=5,
                     snapshot_every=100, log_every=50),
    },
    # Source 003: a fully connected (Goodfellow-style) GAN on flattened 28x28 MNIST digits.
    "mlp-mnist": {
        "base": dict(arch="mlp", nc=1, image_size=28, nz=100, lr=2e-4, beta1=0.5, seed=999),
        "quick": dict(ngf=32, ndf=32, batch_size=32, n_train=256, num_epochs=1, snapshot_every=2,
                      log_every=4, n_fixed=16),
        "book": dict(ngf=256, ndf=256, batch_size=64, num_epochs=15, snapshot_every=60, log_every=100),
        "full": dict(ngf=256, ndf=256, batch_size=128, num_epochs=50, snapshot_every=500, log_every=200),
    },
    # Source 004: small conv D (5x5 convs + max-pool) and FC + transposed-conv G, 28x28, batch 128.
    "smallconv-mnist": {
        "base": dict(arch="smallconv", nc=1, image_size=28, nz=96, lr=1e-3, beta1=0.5, seed=999),
        "quick": dict(ngf=8, ndf=8, batch_size=32, n_train=256, num_epochs=1, snapshot_every=2,
                      log_every=4, n_fixed=16),
        "book": dict(ngf=64, ndf=32, batch_size=128, num_epochs=8, snapshot_every=40, log_every=50),
        "full": dict(ngf=64, ndf=32, batch_size=128, num_epochs=10, snapshot_every=200, log_every=100),
    },
    # --- presets: chapters 1-3 (theory, 1-D toy) ---
    # --- presets: chapter 4 (faces) ---
    # --- presets: chapter 6 (conditional GAN) ---
    # --- presets: chapters 7-8 (variants, challenges) ---
}


def register_preset(name: str, base: dict, quick: dict, book: dict, full: dict) -> None:
    """Add a named preset (chapters' modules call this for their own presets)."""
    PRESETS[name] = {"base": base, "quick": quick, "book": book, "full": full}


def preset(name: str, size: str | None = None, **overrides) -> Config:
    """The configuration for chapter preset ``name`` at ``size`` (default: ``GANLIB_SIZE``).

    Keyword arguments override single fields, e.g. ``preset("dcgan-mnist", num_epochs=1)``.
    """
    if name not in PRESETS:
        raise KeyError(f"No preset {name!r}; the presets are: {', '.join(sorted(PRESETS))}.")
    size = size or globals()["size"]()
    if size not in SIZES:
        raise ValueError(f"size={size!r} is not a size; use one of {', '.join(SIZES)}.")
    entry = PRESETS[name]
    values = {**entry["base"], **entry[size], **overrides}
    unknown = set(values) - {f.name for f in dataclasses.fields(Config)}
    if unknown:
        raise TypeError(f"Unknown Config fields {sorted(unknown)} in preset {name!r}.")
    return Config(name=name, size=size, **values)


def describe(cfg: Config) -> str:
    """One paragraph telling the reader which size runs and what that changes."""
    what = {
        "quick": "QUICK size (CI): a tiny network for a few steps. It proves that the code runs; "
                 "do not expect recognisable pictures.",
        "book": "BOOK size (CPU): a smaller network and budget than the source, chosen to give a "
                "recognisable result in minutes on a laptop CPU.",
        "full": "FULL size: the source documents' own settings. Use a GPU (e.g. Colab).",
    }[cfg.size]
    shape = f"{cfg.nc}x{cfg.image_size}x{cfg.image_size}"
    data = "all" if cfg.n_train is None else f"the first {cfg.n_train}"
    return (f"{what}\npreset {cfg.name!r}: images {shape}, {data} training images, batch {cfg.batch_size}, "
            f"{cfg.num_epochs} epoch(s), ngf={cfg.ngf}, ndf={cfg.ndf}, nz={cfg.nz}, device {device()}.\n"
            f"Set GANLIB_SIZE=quick|book|full before starting the kernel to change it.")


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
