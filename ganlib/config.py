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
        "book": dict(image_size=32, ngf=32, ndf=32, batch_size=64, n_train=None, num_epochs=40,
                     snapshot_every=124, log_every=124),
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
    # Source 004: small conv D (5x5 convs + max-pool) and FC + transposed-conv G, 28x28, batch 128, LSGAN loss.
    # nz = 96 and Adam 1e-3 / 0.5 are the cs231n assignment settings these notes follow.
    "smallconv-mnist": {
        "base": dict(arch="smallconv", nc=1, image_size=28, nz=96, loss="lsgan", lr=1e-3, beta1=0.5, seed=999),
        "quick": dict(ngf=8, ndf=8, batch_size=32, n_train=256, num_epochs=1, snapshot_every=2,
                      log_every=4, n_fixed=16),
        "book": dict(ngf=64, ndf=32, batch_size=128, num_epochs=8, snapshot_every=40, log_every=50),
        "full": dict(ngf=64, ndf=32, batch_size=128, num_epochs=10, snapshot_every=200, log_every=100),
    },
    # --- presets: chapters 1-3 (theory, 1-D toy) ---
    # Chapter 1: an MLP G(u) fitted to the inverse CDF of a two-mode mixture (ganlib.toy1d.fit_quantile_map,
    # a regression, not a GAN). max_steps = regression steps; n_train = data points; extra: p_data (a name
    # in toy1d.DISTRIBUTIONS), depth, g_activation, w1_tol = the largest 1-Wasserstein distance accepted.
    "inverse-cdf-mlp": {
        "base": dict(arch="mlp1d", nc=1, image_size=1, nz=1, ngf=64, lr=1e-2, batch_size=512, seed=0,
                     n_train=20000),
        "quick": dict(max_steps=500, extra=dict(p_data="gap", depth=2, g_activation="leaky_relu", w1_tol=0.2)),
        "book": dict(max_steps=2000, extra=dict(p_data="gap", depth=2, g_activation="leaky_relu", w1_tol=0.06)),
        "full": dict(max_steps=5000, batch_size=2048, n_train=100000,
                     extra=dict(p_data="gap", depth=2, g_activation="leaky_relu", w1_tol=0.05)),
    },
    # Chapter 3: the 1-D toy GAN (Goodfellow et al. 2014, Fig. 1), k = 5 D steps per G update (section on k
    # shows why). max_steps = G updates. extra: p_data, depth, g_activation/g_sharpness (smooth, never flat:
    # no jumps or cliffs in p_g), x_range/n_bins of the picture, jsd_every, and the D-only phase: frozen_steps,
    # frozen_batch, frozen_lr (cosine-annealed), frozen_beta1, frozen_frames. `full` has no source setting to
    # copy: it is a longer run.
    "toy1d": {
        "base": dict(arch="mlp1d", nc=1, image_size=1, nz=1, ngf=32, ndf=64, lr=1e-3, beta1=0.5, k=5,
                     loss="non-saturating", batch_size=256, seed=999, n_fixed=16),
        "quick": dict(n_train=20000, max_steps=40, num_epochs=3, snapshot_every=20, log_every=1000,
                      extra=dict(p_data="two-bumps", depth=2, g_activation="smooth_leaky_relu", g_sharpness=4.0,
                                 x_range=(-4, 4), n_bins=400, jsd_every=5, frozen_steps=400, frozen_batch=512,
                                 frozen_lr=1e-2, frozen_beta1=0.9, frozen_frames=2)),
        "book": dict(n_train=20000, max_steps=600, num_epochs=40, snapshot_every=20, log_every=200,
                     extra=dict(p_data="two-bumps", depth=2, g_activation="smooth_leaky_relu", g_sharpness=4.0,
                                x_range=(-4, 4), n_bins=400, jsd_every=20, frozen_steps=2000, frozen_batch=1024,
                                frozen_lr=1e-2, frozen_beta1=0.9, frozen_frames=10)),
        "full": dict(n_train=100000, max_steps=3000, num_epochs=39, snapshot_every=100, log_every=500,
                     extra=dict(p_data="two-bumps", depth=2, g_activation="smooth_leaky_relu", g_sharpness=4.0,
                                x_range=(-4, 4), n_bins=400, jsd_every=50, frozen_steps=4000, frozen_batch=1024,
                                frozen_lr=1e-2, frozen_beta1=0.9, frozen_frames=10)),
    },
    # --- presets: chapter 4 (faces) ---
    # Sources 001/002 (PyTorch DCGAN tutorial on CelebA) and 000 (LFW). `full` is the tutorial's run;
    # `book` trains on the 200 offline faces (gray, 32 px) on a CPU (CelebA or LFW instead when on disk,
    # first 20,000 faces, same 1,200 updates); extra: dataset (auto | celeba | lfw |
    # offline), download (LFW), workers (JPEG-decoding processes), side_steps (the label-smoothing and
    # init-std comparison runs). See ganlib/faces.py.
    "dcgan-faces": {
        "base": dict(arch="dcgan", nz=100, lr=2e-4, beta1=0.5, seed=999, bias=False, init_std=0.02,
                     dataroot="celeba"),
        "quick": dict(image_size=32, nc=1, ngf=8, ndf=8, batch_size=32, num_epochs=2, snapshot_every=3,
                      log_every=4, n_fixed=16,
                      extra=dict(dataset="offline", download=False, workers=0, side_steps=6)),
        "book": dict(image_size=32, nc=1, ngf=32, ndf=32, batch_size=64, num_epochs=400, max_steps=1200,
                     n_train=20_000, snapshot_every=100, log_every=100, n_fixed=64,
                     extra=dict(dataset="auto", download=False, workers=0, side_steps=300)),
        "full": dict(image_size=64, nc=3, ngf=64, ndf=64, batch_size=128, num_epochs=5, snapshot_every=500,
                     log_every=50, n_fixed=64,
                     extra=dict(dataset="auto", download=True, workers=2, side_steps=1500)),
    },
    # --- presets: chapter 6 (conditional GAN) ---
    # Source 001, section 12.5: the two-branch conditional DCGAN on 32x32 MNIST, biases on, 10x10 fixed grid.
    # extra: n_per_class = generated digits per class for the class accuracy and per-class Frechet distance;
    # matching_d = D also learns that real digits with wrong labels are fake (Reed et al.; conditional.py);
    # mode_seeking = weight of the term that makes two z give two different digits (Mao et al.). Without
    # these two, the source's recipe at book size (4,000 offline digits) drew ONE image per class whatever z
    # was, with 0.45 class accuracy after 1,550 updates at lr 2e-4 (benchmarks/conditional_book.py --plain
    # --epochs 25 --lr 2e-4).
    "cgan-mnist": {
        "base": dict(arch="dcgan", nc=1, image_size=32, n_classes=10, nz=100, bias=True, lr=2e-4, beta1=0.5,
                     seed=999, n_fixed=100, extra={"n_per_class": 500, "matching_d": True, "mode_seeking": 1.0}),
        "quick": dict(ngf=8, ndf=8, batch_size=32, num_epochs=1, max_steps=8, snapshot_every=2, log_every=4,
                      extra={"n_per_class": 100, "matching_d": True, "mode_seeking": 1.0}),
        # book: lr 4e-4 reached the class-accuracy target in fewer updates than 2e-4 (0.94 vs 0.88 at 1,500)
        "book": dict(ngf=32, ndf=32, batch_size=64, num_epochs=40, lr=4e-4, snapshot_every=124, log_every=124),
        "full": dict(ngf=128, ndf=128, batch_size=128, num_epochs=20, snapshot_every=500, log_every=50),
    },
    # --- presets: chapters 7-8 (variants, challenges) ---
    # Challenges, mode collapse (ganlib.toy2d.lab_run): 8 Gaussians of std 0.05 on a ring of radius 2 (or a
    # 5x5 grid). G: z in R^2 -> 2 ReLU layers of 128 -> (x, y); D: Metz et al.'s 1 hidden ReLU layer of 128.
    # With this D and lr 3e-3 the plain GAN collapses; the remedies (toy2d.METHODS) change one thing each.
    # extra: std, n_data = data points, g_depth / d_depth, lr_decay = final lr factor (toy2d.linear_decay).
    # "challenges-grid" (the 5x5 grid) is the same preset under its own name: it is added below PRESETS.
    "challenges-ring": {
        "base": dict(arch="toy2d", nz=2, ngf=128, ndf=128, batch_size=128, lr=3e-3, beta1=0.5, seed=0,
                     loss="non-saturating"),
        "quick": dict(max_steps=20, num_epochs=10, n_fixed=128, snapshot_every=10, log_every=1000,
                      extra=dict(std=0.05, n_data=2560, g_depth=2, d_depth=1, lr_decay=0.1)),
        "book": dict(max_steps=4000, num_epochs=1000, n_fixed=512, snapshot_every=200, log_every=1000,
                     extra=dict(std=0.05, n_data=10000, g_depth=2, d_depth=1, lr_decay=0.1)),
        "full": dict(max_steps=10000, num_epochs=1000, batch_size=512, n_fixed=512, snapshot_every=500,
                     log_every=1000, extra=dict(std=0.05, n_data=50000, g_depth=2, d_depth=1, lr_decay=0.1)),
    },
    # Challenges, vanishing gradients: G frozen at its initialisation (a blob at the origin), D trained alone
    # on the ring (toy2d.GradientProbe records G's gradient norms). max_steps = D steps; extra as above.
    "challenges-vanishing": {
        "base": dict(arch="toy2d", nz=2, ngf=128, ndf=128, batch_size=256, lr=1e-3, beta1=0.5, seed=0,
                     loss="minimax"),
        "quick": dict(max_steps=40, num_epochs=100, n_fixed=128, snapshot_every=20, log_every=1000,
                      extra=dict(std=0.05, n_data=2560, g_depth=2, d_depth=2)),
        "book": dict(max_steps=400, num_epochs=1000, n_fixed=256, snapshot_every=50, log_every=1000,
                     extra=dict(std=0.05, n_data=10000, g_depth=2, d_depth=2)),
        "full": dict(max_steps=2000, num_epochs=1000, n_fixed=256, snapshot_every=200, log_every=1000,
                     extra=dict(std=0.05, n_data=10000, g_depth=2, d_depth=2)),
    },
    # Variants: every loss on the 2-D ring (toy2d MLPs, Metz et al.'s 8 Gaussians of std 0.02). extra:
    # g_updates = the budget every loss gets (same number of G updates; WGANs do k=5 critic steps each),
    # n_data = ring points, depth = hidden layers. lr/betas are for the cross-entropy, LSGAN and hinge runs;
    # WGAN and WGAN-GP use their papers' optimisers (ganlib.losses.Loss.settings).
    "variants-ring": {
        "base": dict(arch="toy2d", nz=16, ngf=128, ndf=128, batch_size=256, lr=1e-3, beta1=0.5, seed=999),
        "quick": dict(ngf=32, ndf=32, batch_size=64, n_fixed=128, snapshot_every=10, log_every=1000,
                      extra=dict(depth=2, n_data=2000, g_updates=20)),
        "book": dict(n_fixed=512, snapshot_every=100, log_every=500,
                     extra=dict(depth=2, n_data=20000, g_updates=2000)),
        "full": dict(batch_size=512, n_fixed=512, snapshot_every=500, log_every=1000,
                     extra=dict(depth=2, n_data=100000, g_updates=25000)),
    },
    # Variants: every loss on MNIST with the fully connected GAN of source 003 (no BatchNorm in D, as the
    # gradient penalty needs). extra: g_updates (the budget), n_eval = digits generated for the metrics.
    # lr 1e-3 (not 2e-4): within 1000 G updates the MLP GAN at 2e-4 had not left the blob stage.
    "variants-mnist": {
        "base": dict(arch="mlp", nc=1, image_size=28, nz=100, lr=1e-3, beta1=0.5, seed=999),
        "quick": dict(ngf=16, ndf=16, batch_size=32, n_fixed=16, snapshot_every=4, log_every=1000,
                      extra=dict(g_updates=8, n_eval=200)),
        "book": dict(ngf=128, ndf=128, batch_size=64, n_fixed=64, snapshot_every=100, log_every=500,
                     extra=dict(g_updates=1000, n_eval=1000)),
        "full": dict(ngf=256, ndf=256, batch_size=128, n_fixed=64, snapshot_every=500, log_every=1000,
                     extra=dict(g_updates=20000, n_eval=10000)),
    },
    # Variants, "what the critic's number means": a critic alone between a blob N(0, sigma^2 I) and the blob
    # moved by d. extra: sigma, n_data, g_updates (= critic steps: G never changes), depth.
    "variants-shift": {
        "base": dict(arch="toy2d", nz=2, ndf=64, batch_size=256, lr=1e-3, seed=0),
        "quick": dict(ndf=16, batch_size=64, extra=dict(depth=2, sigma=0.1, n_data=1024, g_updates=10)),
        "book": dict(extra=dict(depth=2, sigma=0.1, n_data=4096, g_updates=400)),
        "full": dict(extra=dict(depth=2, sigma=0.1, n_data=16384, g_updates=2000)),
    },
}


PRESETS["challenges-grid"] = PRESETS["challenges-ring"]  # same nets and budget, the 5x5 grid as data


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


def budget(cfg: Config) -> str:
    """How long a run trains, in words: epochs, a cap on G updates, or a chapter's own budget."""
    if "g_updates" in cfg.extra:  # chapters that compare several runs give each the same number of G updates
        return f"{cfg.extra['g_updates']} G updates per run"
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
    data = "all" if cfg.n_train is None else f"the first {cfg.n_train}"
    optimisation = ("loss and optimiser set per run" if "g_updates" in cfg.extra
                    else f"loss {cfg.loss}, {cfg.optimizer} lr {cfg.lr:g}, k={cfg.k}")
    return (f"{what}\npreset {cfg.name!r}: {sample}, {data} training samples, batch {cfg.batch_size}, "
            f"{budget(cfg)}, ngf={cfg.ngf}, ndf={cfg.ndf}, nz={cfg.nz}, {optimisation}, device {device()}.\n"
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
