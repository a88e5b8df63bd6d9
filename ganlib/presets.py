"""Named presets: every chapter's settings at its three sizes, as data.

One entry per training setup. An entry has ``base`` (shared by every size) and ``quick`` / ``book`` /
``full`` (what each size changes); ``inherits`` starts from another entry. Entries are merged deeply: a
size restates only what it changes, also inside ``chapter`` (the chapter's own settings, a type of
:mod:`ganlib.config`). ``full`` is always the source documents' own setting where they give one.

``book`` size is bounded in G updates whatever the data source: the MNIST presets train on a fixed
4,000-digit subset (what the offline fallback has) with a cap on G updates, so a reader online gets the
same budget, and the same figures up to the data, as the book.

Floor 1 (imports only ganlib.config). Taught in: every chapter's first cells.
"""
from __future__ import annotations

import copy
import dataclasses

from . import config
from .config import Config

PRESETS: dict[str, dict] = {
    # Source 001, section 12.4.6: the tutorial's DCGAN with doubled channels and biases, on MNIST at 64 px.
    # book: 4,000 digits x 40 epochs = 2,480 G updates (benchmarks/dcgan_mnist.py), online or offline.
    "dcgan-mnist": {
        "base": dict(arch="dcgan", nc=1, nz=100, bias=True, lr=2e-4, beta1=0.5, seed=999),
        "quick": dict(image_size=32, ngf=8, ndf=8, batch_size=32, n_train=256, num_epochs=1,
                      snapshot_every=2, log_every=4, n_fixed=16),
        "book": dict(image_size=32, ngf=32, ndf=32, batch_size=64, n_train=4000, num_epochs=40, max_steps=2480,
                     snapshot_every=124, log_every=124),
        "full": dict(image_size=64, ngf=128, ndf=128, batch_size=128, num_epochs=5,
                     snapshot_every=100, log_every=50),
    },
    # Chapter 5's improved recipe (benchmarks/dcgan_mnist.py, "improved"): G learns twice as fast as D (Adam 4e-4
    # for G, 2e-4 for D), G's step reuses D's fakes (one G forward fewer), and the book budget grows to 4,340 G
    # updates, which the two changes pay for within about 8 minutes on 2 cores.
    "dcgan-mnist-plus": {
        "inherits": "dcgan-mnist",
        "base": dict(lr=4e-4, lr_d=2e-4, reuse_fakes=True),
        "book": dict(num_epochs=70, max_steps=4340, snapshot_every=217, log_every=217),
    },
    # Source 003: a fully connected (Goodfellow-style) GAN on flattened 28x28 MNIST digits.
    "mlp-mnist": {
        "base": dict(arch="mlp", nc=1, image_size=28, nz=100, lr=2e-4, beta1=0.5, seed=999),
        "quick": dict(ngf=32, ndf=32, batch_size=32, n_train=256, num_epochs=1, snapshot_every=2,
                      log_every=4, n_fixed=16),
        "book": dict(ngf=256, ndf=256, batch_size=64, n_train=4000, num_epochs=15, max_steps=930,
                     snapshot_every=60, log_every=100),
        "full": dict(ngf=256, ndf=256, batch_size=128, num_epochs=50, snapshot_every=500, log_every=200),
    },
    # Source 004: small conv D (5x5 convs + max-pool) and FC + transposed-conv G, 28x28, batch 128, LSGAN loss.
    # nz = 96 and Adam 1e-3 / 0.5 are the cs231n assignment settings these notes follow.
    "smallconv-mnist": {
        "base": dict(arch="smallconv", nc=1, image_size=28, nz=96, loss="lsgan", lr=1e-3, beta1=0.5, seed=999),
        "quick": dict(ngf=8, ndf=8, batch_size=32, n_train=256, num_epochs=1, snapshot_every=2,
                      log_every=4, n_fixed=16),
        "book": dict(ngf=64, ndf=32, batch_size=128, n_train=4000, num_epochs=8, max_steps=248,
                     snapshot_every=40, log_every=50),
        "full": dict(ngf=64, ndf=32, batch_size=128, num_epochs=10, snapshot_every=200, log_every=100),
    },
    # Chapter 1: an MLP G(u) fitted to the inverse CDF of a two-mode mixture (ganlib.toy1d.fit_quantile_map,
    # a regression, not a GAN). max_steps = regression steps; n_train = data points.
    "inverse-cdf-mlp": {
        "base": dict(arch="mlp1d", nc=1, image_size=1, nz=1, ngf=64, lr=1e-2, batch_size=512, seed=0,
                     n_train=20000, g_depth=2, g_activation="leaky_relu", chapter=config.Toy1D(p_data="gap")),
        "quick": dict(max_steps=500, chapter=dict(w1_tol=0.2)),
        "book": dict(max_steps=2000, chapter=dict(w1_tol=0.06)),
        "full": dict(max_steps=5000, batch_size=2048, n_train=100000, chapter=dict(w1_tol=0.05)),
    },
    # Chapter 3: the 1-D toy GAN (Goodfellow et al. 2014, Fig. 1), k = 5 D steps per G update (section on k
    # shows why). G's smooth activation never goes flat: no jumps or cliffs in p_g. `full` has no source
    # setting to copy: it is a longer run.
    "toy1d": {
        "base": dict(arch="mlp1d", nc=1, image_size=1, nz=1, ngf=32, ndf=64, lr=1e-3, beta1=0.5, k=5,
                     loss="non-saturating", batch_size=256, seed=999, n_fixed=16, g_depth=2, d_depth=2,
                     g_activation="smooth_leaky_relu", g_sharpness=4.0, chapter=config.Toy1D(p_data="two-bumps")),
        "quick": dict(n_train=20000, max_steps=40, num_epochs=3, snapshot_every=20, log_every=1000,
                      chapter=dict(jsd_every=5, frozen_steps=400, frozen_batch=512, frozen_frames=2)),
        "book": dict(n_train=20000, max_steps=600, num_epochs=40, snapshot_every=20, log_every=200,
                     chapter=dict(jsd_every=20, frozen_steps=2000, frozen_batch=1024, frozen_frames=10,
                                  min_rebound=5.0, loss_d_tol=0.02)),
        "full": dict(n_train=100000, max_steps=3000, num_epochs=39, snapshot_every=100, log_every=500,
                     chapter=dict(jsd_every=50, frozen_steps=4000, frozen_batch=1024, frozen_frames=10)),
    },
    # Chapter 4. Sources 001/002 (PyTorch DCGAN tutorial on CelebA) and 000 (LFW). `full` is the tutorial's
    # run; `book` trains on the 200 offline faces (gray, 32 px) on a CPU (CelebA or LFW instead when on disk,
    # first 20,000 faces, same 1,200 updates). See ganlib/faces.py.
    "dcgan-faces": {
        "base": dict(arch="dcgan", nz=100, lr=2e-4, beta1=0.5, seed=999, bias=False, init_std=0.02,
                     dataroot="celeba", chapter=config.Faces()),
        "quick": dict(image_size=32, nc=1, ngf=8, ndf=8, batch_size=32, num_epochs=2, snapshot_every=3,
                      log_every=4, n_fixed=16, chapter=dict(dataset="offline", side_steps=6)),
        "book": dict(image_size=32, nc=1, ngf=32, ndf=32, batch_size=64, num_epochs=400, max_steps=1200,
                     n_train=20_000, snapshot_every=100, log_every=100, n_fixed=64,
                     chapter=dict(side_steps=300, arithmetic_shift=0.5)),
        "full": dict(image_size=64, nc=3, ngf=64, ndf=64, batch_size=128, num_epochs=5, snapshot_every=500,
                     log_every=50, n_fixed=64, chapter=dict(download=True, workers=2, side_steps=1500)),
    },
    # Chapter 6. Source 001, section 12.5: the two-branch conditional DCGAN on 32x32 MNIST, biases on, a 10x10
    # fixed grid. matching_d and mode_seeking: without them, the source's recipe at book size (4,000 offline
    # digits) drew ONE image per class whatever z was, with 0.45 class accuracy after 1,550 updates at lr
    # 2e-4 (benchmarks/conditional_book.py --plain --epochs 25 --lr 2e-4).
    "cgan-mnist": {
        "base": dict(arch="dcgan", nc=1, image_size=32, n_classes=10, nz=100, bias=True, lr=2e-4, beta1=0.5,
                     seed=999, n_fixed=100, matching_d=True, mode_seeking=1.0, chapter=config.Conditional()),
        "quick": dict(ngf=8, ndf=8, batch_size=32, num_epochs=1, max_steps=8, snapshot_every=2, log_every=4,
                      chapter=dict(n_per_class=100)),
        # book: lr 4e-4 reached the class-accuracy target in fewer updates than 2e-4 (0.94 vs 0.88 at 1,500)
        "book": dict(ngf=32, ndf=32, batch_size=64, n_train=4000, num_epochs=40, max_steps=2480, lr=4e-4,
                     snapshot_every=124, log_every=124,
                     chapter=dict(min_accuracy=0.95, min_class_accuracy=0.85)),  # the chapter's targets
        # full: no targets (not measured at this size yet)
        "full": dict(ngf=128, ndf=128, batch_size=128, num_epochs=20, snapshot_every=500, log_every=50),
    },
    # Chapter 8, mode collapse (ganlib.toy2d.lab_run): 8 Gaussians of std 0.05 on a ring of radius 2.
    # G: z in R^2 -> 2 ReLU layers of 128 -> (x, y); D: Metz et al.'s 1 hidden ReLU layer of 128. With this
    # D and lr 3e-3 the plain GAN collapses; the remedies (toy2d.METHODS) change one thing each.
    # n_train = data points; lr_decay: both lrs fall linearly to 0.1 lr at max_steps.
    "challenges-ring": {
        "base": dict(arch="toy2d", nz=2, ngf=128, ndf=128, batch_size=128, lr=3e-3, beta1=0.5, seed=0,
                     loss="non-saturating", g_depth=2, d_depth=1, lr_decay=0.1,
                     chapter=config.Toy2D(kind="ring", std=0.05)),
        "quick": dict(max_steps=20, num_epochs=10, n_train=2560, n_fixed=128, snapshot_every=10, log_every=1000),
        "book": dict(max_steps=4000, num_epochs=1000, n_train=10000, n_fixed=512, snapshot_every=200,
                     log_every=1000),
        "full": dict(max_steps=10000, num_epochs=1000, n_train=50000, batch_size=512, n_fixed=512,
                     snapshot_every=500, log_every=1000),
    },
    # The same nets and budget on the 5x5 grid of Gaussians.
    "challenges-grid": {"inherits": "challenges-ring", "base": dict(chapter=dict(kind="grid"))},
    # Chapter 8, vanishing gradients: G frozen at its initialisation (a blob at the origin), D trained alone
    # on the ring (toy2d.GradientProbe records G's gradient norms). max_steps = D steps.
    "challenges-vanishing": {
        "base": dict(arch="toy2d", nz=2, ngf=128, ndf=128, batch_size=256, lr=1e-3, beta1=0.5, seed=0,
                     loss="minimax", g_depth=2, d_depth=2, chapter=config.Toy2D(kind="ring", std=0.05)),
        "quick": dict(max_steps=40, num_epochs=100, n_train=2560, n_fixed=128, snapshot_every=20, log_every=1000),
        "book": dict(max_steps=400, num_epochs=1000, n_train=10000, n_fixed=256, snapshot_every=50, log_every=1000),
        "full": dict(max_steps=2000, num_epochs=1000, n_train=10000, n_fixed=256, snapshot_every=200,
                     log_every=1000),
    },
    # Chapter 7: every loss on the 2-D ring (Metz et al.'s 8 Gaussians of std 0.02). max_steps is the budget
    # every loss gets (the same number of G updates; WGANs do k=5 critic steps each). lr/betas are for the
    # cross-entropy, LSGAN and hinge runs; WGAN and WGAN-GP use their papers' optimisers (Loss.settings).
    "variants-ring": {
        "base": dict(arch="toy2d", nz=16, ngf=128, ndf=128, batch_size=256, lr=1e-3, beta1=0.5, seed=999,
                     g_depth=2, d_depth=2, num_epochs=1000, chapter=config.Toy2D(kind="ring", std=0.02)),
        "quick": dict(ngf=32, ndf=32, batch_size=64, n_train=2000, max_steps=20, n_fixed=128, snapshot_every=10,
                      log_every=1000),
        "book": dict(n_train=20000, max_steps=2000, n_fixed=512, snapshot_every=100, log_every=500,
                     chapter=dict(min_modes=6, min_hq=0.3)),  # the chapter's targets (quick: none)
        "full": dict(batch_size=512, n_train=100000, max_steps=25000, n_fixed=512, snapshot_every=500,
                     log_every=1000),
    },
    # Chapter 7: every loss on MNIST with the fully connected GAN of source 003 (no BatchNorm in D, as the
    # gradient penalty needs). lr 1e-3 (not 2e-4): within 1000 G updates the MLP GAN at 2e-4 had not left
    # the blob stage.
    "variants-mnist": {
        "base": dict(arch="mlp", nc=1, image_size=28, nz=100, lr=1e-3, beta1=0.5, seed=999, num_epochs=1000,
                     chapter=config.Variants()),
        "quick": dict(ngf=16, ndf=16, batch_size=32, max_steps=8, n_fixed=16, snapshot_every=4, log_every=1000,
                      chapter=dict(n_eval=200)),
        # book: three losses, one per family, to stay within minutes on a CPU (quick and full train all six)
        "book": dict(ngf=128, ndf=128, batch_size=64, n_train=4000, max_steps=1000, n_fixed=64, snapshot_every=100,
                     log_every=500, chapter=dict(n_eval=1000, losses=("non-saturating", "lsgan", "wgan"),
                                                 min_best_score=2.0, max_best_frechet=60.0)),
        "full": dict(ngf=256, ndf=256, batch_size=128, max_steps=20000, n_fixed=64, snapshot_every=500,
                     log_every=1000, chapter=dict(n_eval=10000)),
    },
    # Chapter 7, "what the critic's number means": a critic alone between a blob N(0, sigma^2 I) and the blob
    # moved by d. max_steps = critic steps (G never changes).
    "variants-shift": {
        "base": dict(arch="toy2d", nz=2, ndf=64, batch_size=256, lr=1e-3, seed=0, d_depth=2, num_epochs=1000,
                     chapter=config.Toy2D(sigma=0.1)),
        "quick": dict(ndf=16, batch_size=64, n_train=1024, max_steps=10),
        "book": dict(n_train=4096, max_steps=400, chapter=dict(saturation_tol=0.05, w1_rel_tol=0.25)),
        "full": dict(n_train=16384, max_steps=2000),
    },
    # Source 003: its convolutional and its fully connected GAN on CIFAR-10 (32x32 colour images, 10 classes),
    # k = 1. The source gives no other setting: full is the DCGAN recipe (Adam 2e-4, beta1 0.5, batch 128,
    # ngf = ndf = 64) for 25 epochs of the 50,000 training images; the MLP GAN is the same entry with
    # arch="mlp", ngf=ndf=256. Needs CIFAR-10 (a 170 MB download, no offline copy: gl.data.cifar10), so chapter 7
    # describes the full-size run without executing it; quick and book exist for completeness.
    "cifar10-dcgan": {
        "base": dict(arch="dcgan", nc=3, image_size=32, nz=100, lr=2e-4, beta1=0.5, seed=999, bias=False),
        "quick": dict(ngf=8, ndf=8, batch_size=32, n_train=256, num_epochs=1, max_steps=8, snapshot_every=2,
                      log_every=4, n_fixed=16),
        "book": dict(ngf=32, ndf=32, batch_size=64, n_train=10000, num_epochs=20, max_steps=2000,
                     snapshot_every=100, log_every=100),
        "full": dict(ngf=64, ndf=64, batch_size=128, num_epochs=25, snapshot_every=500, log_every=100),
    },
}


def merge(base: dict, changes: dict) -> dict:
    """``base`` updated by ``changes``, recursively inside nested dicts and chapter settings."""
    out = dict(base)
    for key, value in changes.items():
        old = out.get(key)
        if dataclasses.is_dataclass(old) and isinstance(value, dict):
            value = dataclasses.replace(old, **value)
        elif isinstance(old, dict) and isinstance(value, dict):
            value = merge(old, value)
        out[key] = value
    return out


def entry(name: str) -> dict:
    """The preset ``name`` with its ``inherits`` chain resolved: ``{"base", "quick", "book", "full"}``."""
    if name not in PRESETS:
        raise KeyError(f"No preset {name!r}; the presets are: {', '.join(sorted(PRESETS))}.")
    raw = PRESETS[name]
    parent = entry(raw["inherits"]) if "inherits" in raw else {s: {} for s in ("base",) + config.SIZES}
    return {part: merge(parent.get(part, {}), raw.get(part, {})) for part in ("base",) + config.SIZES}


def preset(name: str, size: str | None = None, **overrides) -> Config:
    """The configuration for preset ``name`` at ``size`` (default: ``GANLIB_SIZE``, see config.size).

    Keyword arguments override single fields, e.g. ``preset("dcgan-mnist", num_epochs=1)``;
    ``chapter=dict(...)`` overrides single chapter settings.
    """
    size = size or config.size()
    if size not in config.SIZES:
        raise ValueError(f"size={size!r} is not a size; use one of {', '.join(config.SIZES)}.")
    parts = entry(name)
    values = merge(merge(parts["base"], parts[size]), overrides)
    unknown = set(values) - {f.name for f in dataclasses.fields(Config)}
    if unknown:
        raise TypeError(f"Unknown Config fields {sorted(unknown)} in preset {name!r}.")
    return Config(name=name, size=size, **copy.deepcopy(values))
