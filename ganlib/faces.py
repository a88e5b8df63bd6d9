"""Face images for the DCGAN chapter, and the chapter's small helpers.

Three sources of faces, tried in this order by :func:`load` (``cfg.chapter.dataset = "auto"``):

1. **CelebA** in the folder layout of the PyTorch DCGAN tutorial (sources 001 and 002)::

       <dataroot>/img_align_celeba/000001.jpg ...

   read with torchvision's ``ImageFolder`` rules (every sub-folder of ``dataroot`` is one "class";
   CelebA has exactly one), resized so the shorter side is ``image_size``, centre-cropped to a square.
2. **LFW deep-funneled** (source 000): 13,233 faces of 250x250 pixels, from ``<data root>/lfw-deepfunneled``,
   from the ``lfw-deepfunneled.tgz`` archive, or downloaded when the internet is there.
3. **Offline**: the 100 real LFW faces (25x25, gray) that scikit-image ships, plus their mirror images:
   200 pictures, always there. ganlib says loudly when it falls back to them.

Every set is decoded **once** (with a progress bar), kept as a ``uint8`` tensor ``(N, C, S, S)`` in memory
and in ``<data root>/cache``; training then draws batches from that tensor and never decodes a JPEG again.
A missing or wrongly laid out folder, or a file that is not an image, stops with a message that shows the
expected layout and how to get the data.

Floor 5 (a chapter helper). Taught in: "DCGAN on faces" (chapter 4).
"""
from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import socket
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch

from .config import Config
from .data import (ImageData, check_image_size, check_int, check_n, default_root, loud, read_cache, resize_uint8,
                   write_cache)
from .util import STALE_SECONDS, eval_mode

CELEBA_URL = "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html"
CELEBA_MIRROR = "https://www.kaggle.com/datasets/jessicali9530/celeba-dataset"
LFW_URL = "http://vis-www.cs.umass.edu/lfw/lfw-deepfunneled.tgz"  # the address source 000 uses
LFW_MIRROR = "https://www.kaggle.com/datasets/jessicali9530/lfw-dataset"
LFW_MD5 = "68331da3eb755a505a502b5aacb3c201"  # of lfw-deepfunneled.tgz, as torchvision records it
IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")  # ImageFolder's
N_OFFLINE_FACES = 100  # skimage.data.lfw_subset(): the first 100 of its 200 pictures are faces

_MEMORY: dict[str, ImageData] = {}  # decoded sets of this session, by cache file name


class FaceDataError(FileNotFoundError):
    """The face folder is missing, laid out differently from what ImageFolder expects, or holds broken files.

    The message always says what was expected and how to fix it.
    """


# ---------------------------------------------------------------- paths and messages
def resolve_root(dataroot: str | os.PathLike) -> Path:
    """``dataroot`` as an absolute path; a relative one is taken inside the data root (``$GANLIB_DATA``).

    So the tutorial's ``dataroot = "data/celeba"`` becomes ``dataroot = "celeba"`` here.
    """
    path = Path(dataroot).expanduser()
    return path if path.is_absolute() else (Path(default_root()) / path).resolve()


def celeba_help(dataroot: Path) -> str:
    """The expected CelebA layout under ``dataroot`` and the ways to get the images (shown in errors)."""
    tree = [(f"{dataroot}/", "<- dataroot (cfg.dataroot)"),
            ("    img_align_celeba/", "<- ONE sub-folder: ImageFolder treats it as the only 'class'"),
            ("        000001.jpg", ""), ("        000002.jpg", ""),
            ("        ...", "(202,599 JPEGs of 178x218 pixels)")]
    width = max(len(a) for a, _ in tree) + 2
    return (
        "The DCGAN tutorial (sources 001, 002) reads CelebA with torchvision's ImageFolder, which wants:\n\n"
        + "".join(f"    {a:<{width}}{b}".rstrip() + "\n" for a, b in tree) + "\n"
        "How to get it:\n"
        f"  1. Download img_align_celeba.zip (about 1.4 GB) from {CELEBA_URL}\n"
        "     ('Align&Cropped Images'). Google Drive often answers 'quota exceeded': try again later,\n"
        f"     or take the Kaggle mirror {CELEBA_MIRROR} (its zip nests the folder\n"
        "     twice, img_align_celeba/img_align_celeba/*.jpg; that works too).\n"
        f"  2. mkdir -p {dataroot} && unzip img_align_celeba.zip -d {dataroot}\n"
        f"  3. Set dataroot to {dataroot}: the folder ABOVE img_align_celeba, not the images folder itself.\n"
        "  (torchvision.datasets.CelebA(root, download=True) fills root/celeba/img_align_celeba, the same\n"
        "  layout, also from Google Drive.)\n"
        "Without CelebA, ganlib.faces.load(cfg) still runs: it takes LFW if that is on disk, else the\n"
        "offline faces that ship with scikit-image.")


def find_images(dataroot: str | os.PathLike) -> list[Path]:
    """The image files ImageFolder would read from ``dataroot``, sorted; raises :class:`FaceDataError`.

    ImageFolder's rules: each (non-hidden) sub-folder of ``dataroot`` is a class, searched recursively for
    files with an image extension; files lying directly in ``dataroot`` are ignored. Hidden folders such
    as Jupyter's ``.ipynb_checkpoints`` are skipped here (plain ImageFolder would count them as a class).
    """
    from torchvision.datasets.folder import make_dataset

    root = resolve_root(dataroot)
    if not root.is_dir():
        raise FaceDataError(f"CelebA: there is no folder {root}.\n\n" + celeba_help(root))
    classes = sorted(e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith("."))
    loose = [e.name for e in os.scandir(root) if e.is_file() and e.name.lower().endswith(IMG_EXTENSIONS)]
    if not classes:
        if loose:
            raise FaceDataError(
                f"CelebA: {root} holds {len(loose):,} images directly, and no sub-folder.\n"
                "ImageFolder treats every sub-folder of dataroot as one class and ignores files lying in\n"
                "dataroot itself, so it finds no images here. You pointed at the images folder; point at\n"
                f"the folder above it instead: dataroot = {str(root.parent)!r}.\n\n" + celeba_help(root.parent))
        raise FaceDataError(f"CelebA: {root} exists but has no sub-folder of images (it is empty).\n\n"
                            + celeba_help(root))
    samples = make_dataset(str(root), {c: i for i, c in enumerate(classes)}, extensions=IMG_EXTENSIONS,
                           allow_empty=True)
    if not samples:
        raise FaceDataError(f"CelebA: the sub-folder(s) {classes} of {root} hold no image files "
                            f"(looked for {', '.join(IMG_EXTENSIONS)}).\n\n" + celeba_help(root))
    return sorted(Path(p) for p, _ in samples)


# ---------------------------------------------------------------- decoding once, with a cache
class _Decode(torch.utils.data.Dataset):
    """Decodes file ``i`` the way the tutorial's transforms do; returns ``(i, uint8 (3, S, S) or None, error)``."""

    def __init__(self, paths: list[Path], image_size: int, crop: int | None = None):
        self.paths, self.image_size, self.crop = paths, image_size, crop

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        try:
            return i, decode_image(self.paths[i], self.image_size, self.crop), None
        except Exception as err:  # truncated download, not an image at all, ...
            return i, None, f"{type(err).__name__}: {err}"


def decode_image(path: str | os.PathLike, image_size: int, crop: int | None = None) -> torch.Tensor:
    """One file -> uint8 ``(3, image_size, image_size)``, exactly as the tutorial's transform pipeline does it.

    ``Resize(image_size)`` (shorter side, bilinear with antialiasing, in PIL), ``CenterCrop(image_size)``;
    the tutorial's ``ToTensor`` + ``Normalize(0.5, 0.5)`` are :func:`ganlib.data.to_float`, applied per batch.
    ``crop`` first cuts a centred ``crop`` x ``crop`` square (e.g. the face in a 250x250 LFW picture).
    """
    from PIL import Image
    from torchvision.transforms import functional as TF

    with Image.open(path) as im:
        im = im.convert("RGB")  # also forces the full decode, so a truncated file fails here
        if crop is not None:
            im = TF.center_crop(im, crop)
        im = TF.center_crop(TF.resize(im, image_size), image_size)
        return TF.pil_to_tensor(im)


def _listing_key(kind: str, root: Path, paths: list[Path], image_size: int, extra: str = "") -> str:
    """A short hash of what the cache depends on: the files (names and sizes), the size, the options."""
    h = hashlib.sha1(f"{kind}|{root}|{image_size}|{extra}".encode())
    for p in paths:
        h.update(f"{p.relative_to(root)}|{p.stat().st_size}\n".encode())
    return h.hexdigest()[:12]


def decode_files(paths: list[Path], image_size: int, crop: int | None = None, workers: int = 0,
                 progress: bool = True, desc: str = "decoding") -> tuple[torch.Tensor, list[tuple[Path, str]]]:
    """Decode ``paths`` once into uint8 ``(N_ok, 3, S, S)``; also return ``[(path, error), ...]`` for bad files.

    ``workers`` processes decode in parallel (the tutorial's ``workers`` input); 0 decodes in this process.
    """
    from tqdm.auto import tqdm

    loader = torch.utils.data.DataLoader(_Decode(paths, image_size, crop), batch_size=64, num_workers=workers,
                                         collate_fn=list)
    out = torch.empty(len(paths), 3, image_size, image_size, dtype=torch.uint8)
    ok = torch.zeros(len(paths), dtype=torch.bool)
    bad = []
    with tqdm(total=len(paths), desc=desc, unit="img", disable=not progress) as bar:
        for chunk in loader:
            for i, img, err in chunk:
                if img is None:
                    bad.append((paths[i], err))
                else:
                    out[i], ok[i] = img, True
            bar.update(len(chunk))
    return out[ok], bad


def _cached(name: str, cache_dir: Path, make) -> ImageData:
    """The ImageData stored as ``cache_dir/name`` (memory first, then disk), else ``make()`` and store it."""
    if name in _MEMORY:
        return _MEMORY[name]
    path, data = cache_dir / name, None
    blob = read_cache(path, ("images", "source"))  # an unreadable one is deleted (loudly): decode again
    if blob is not None:
        try:
            data = ImageData(blob["images"], None, blob["source"])
        except (TypeError, ValueError) as err:  # a torch file, but not a face cache
            loud(f"The face cache {path} is unreadable ({type(err).__name__}: {err}); decoding the images again.")
    if data is None:
        data = make()
        write_cache({"images": data.images, "source": data.source}, path)  # unwritable: warns, data still used
    _MEMORY[name] = data
    return data


def _cache_dir(cache_dir) -> Path:
    return Path(cache_dir) if cache_dir is not None else Path(default_root()) / "cache"


def _raise_bad(what: str, bad: list, total: int, fix: str, layout: str = "") -> None:
    listed = "\n".join(f"    {p}  ({err[:100]})" for p, err in bad[:5])
    more = f"\n    ... and {len(bad) - 5:,} more" if len(bad) > 5 else ""
    raise FaceDataError(
        f"{what}: {len(bad):,} of {total:,} files could not be decoded as images:\n{listed}{more}\n"
        "This usually means an interrupted download or unzip.\n"
        f"Fix: {fix}, or delete the broken files, or pass skip_bad=True to train without them."
        + (f"\n\n{layout}" if layout else ""))


# ---------------------------------------------------------------- the three face sets
def celeba(dataroot: str | os.PathLike = "celeba", image_size: int = 64, n: int | None = None,
           workers: int = 0, skip_bad: bool = False, progress: bool = True, cache_dir=None) -> ImageData:
    """CelebA from the tutorial's folder layout as ImageData, uint8 ``(N, 3, image_size, image_size)``.

    ``n`` decodes only the first ``n`` files (sorted by name). Broken files raise :class:`FaceDataError`
    listing them, unless ``skip_bad`` (then they are left out, loudly). Decoded once, then cached in memory
    and in ``cache_dir`` (default ``<data root>/cache``), keyed by the file names and sizes. ``image_size``
    (an int in 8..1024) and ``n`` (None or an int >= 1) are checked first: a ValueError, before any file is read.
    """
    image_size, n = check_image_size(image_size, "faces.celeba"), check_n(n, "faces.celeba")
    root = resolve_root(dataroot)
    paths = find_images(root)[:n]
    key = _listing_key("celeba", root, paths, image_size)

    def make():
        images, bad = decode_files(paths, image_size, workers=workers, progress=progress, desc="CelebA, once")
        if bad and not skip_bad:
            _raise_bad("CelebA", bad, len(paths), f"unzip img_align_celeba.zip into {root} again (layout below)",
                       celeba_help(root))
        if bad:
            loud(f"CelebA: left out {len(bad):,} files that are not readable images (skip_bad=True).")
        return ImageData(images, None, f"CelebA from {root} ({len(images):,} faces)")

    return _cached(f"faces-celeba-{key}-{image_size}px.pt", _cache_dir(cache_dir), make)


def _lfw_folder(root: Path) -> Path | None:
    """An extracted lfw-deepfunneled folder holding JPEGs under ``root`` (own, torchvision's or Kaggle's layout)."""
    for folder in (root / "lfw-deepfunneled" / "lfw-deepfunneled", root / "lfw-deepfunneled",
                   root / "lfw-py" / "lfw-deepfunneled"):
        if folder.is_dir() and next(folder.rglob("*.jpg"), None) is not None:
            return folder
    return None


def _lfw_get_help(root: Path) -> str:
    return (f"Get lfw-deepfunneled.tgz from {LFW_URL}\n(or the Kaggle mirror {LFW_MIRROR}) and put it, or its "
            f"extracted lfw-deepfunneled/ folder, into {root};\nor let ganlib download it: download=True "
            "(chapter=dict(download=True) in gl.preset).")


EXTRACT_PREFIX = ".lfw-extracting-"  # hidden temporary folders of an extraction in progress (never read as data)


def _remove_stale_extractions(root: Path) -> None:
    """Delete temporary extraction folders left by runs killed more than ``STALE_SECONDS`` ago."""
    for tmp in root.glob(EXTRACT_PREFIX + "*"):
        try:
            if time.time() - tmp.stat().st_mtime > STALE_SECONDS:
                shutil.rmtree(tmp, ignore_errors=True)
        except OSError:
            pass  # another run's folder, just renamed or removed


def _lfw_extract(archive: Path, root: Path) -> Path:
    """Extract ``archive`` into a hidden temporary folder in ``root``, then rename what it holds into ``root``.

    The folder appears under its real name only once the whole archive has been read, so a truncated archive
    or a killed run never leaves a half-extracted ``lfw-deepfunneled/`` that a later call would half-use.
    """
    _remove_stale_extractions(root)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=EXTRACT_PREFIX, dir=root))
    except OSError as err:
        raise FaceDataError(f"LFW: cannot extract {archive}: {root} is not writable ({type(err).__name__}: {err}).\n"
                            "Extract it yourself, or point GANLIB_DATA at a writable folder (now "
                            f"{default_root()!r}) and put the archive there.") from None
    try:
        try:
            with tarfile.open(archive) as tar:
                try:
                    tar.extractall(tmp, filter="data")  # refuses absolute paths and links out of the folder
                except TypeError:  # Python without extraction filters
                    tar.extractall(tmp)
        except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as err:
            raise FaceDataError(
                f"LFW: the archive {archive} is damaged or incomplete ({type(err).__name__}: {str(err)[:100]});\n"
                "nothing was taken from it. Delete it and download it again: "
                f"{LFW_URL}\n(or the Kaggle mirror {LFW_MIRROR}), or delete it and pass download=True.") from None
        except OSError as err:  # no space left, ...
            raise FaceDataError(f"LFW: could not extract {archive} into {root} ({type(err).__name__}: {err}).\n"
                                "Free some space, or point GANLIB_DATA at another folder (now "
                                f"{default_root()!r}).") from None
        blocked = []
        for entry in sorted(tmp.iterdir()):
            target = root / entry.name
            if target.is_dir() and not any(target.iterdir()):
                target.rmdir()  # an empty folder of the same name: replaced
            if target.exists():
                blocked.append(target)  # someone else's complete copy, or a folder we must not touch
                continue
            os.rename(entry, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    folder = _lfw_folder(root)
    if folder is None:
        why = (f"\n{', '.join(map(str, blocked))} already existed without JPEGs and was left alone: move it "
               "away and call again." if blocked else " Delete it and download it again.\n" + _lfw_get_help(root))
        raise FaceDataError(f"LFW: {archive} did not give an lfw-deepfunneled/ folder of JPEGs." + why)
    return folder


def _lfw_fetch(root: Path, download: bool) -> Path:
    """Extract (and if needed download) lfw-deepfunneled.tgz under ``root``; return the images folder."""
    archives = [root / "lfw-deepfunneled.tgz", root / "lfw.tgz", root / "lfw-py" / "lfw-deepfunneled.tgz"]
    archive = next((a for a in archives if a.is_file()), None)
    if archive is None:
        if not download:
            raise FaceDataError(f"LFW: no lfw-deepfunneled folder or .tgz under {root}, and download=False.\n"
                                + _lfw_get_help(root))
        archive = archives[0]
        tmp = archive.with_name(archive.name + ".part")
        old = socket.getdefaulttimeout()
        socket.setdefaulttimeout(15)  # an offline machine must fail fast, not hang
        try:
            root.mkdir(parents=True, exist_ok=True)
            urllib.request.urlretrieve(LFW_URL, tmp)
        except Exception as err:
            if tmp.parent.is_dir():
                tmp.unlink(missing_ok=True)  # a partial download is never mistaken for the archive
            raise FaceDataError(f"LFW: could not download {LFW_URL} into {root} ({type(err).__name__}: "
                                f"{str(err)[:100]}).\n" + _lfw_get_help(root)
                                + ("\nIf the folder is not writable, point GANLIB_DATA at one that is."
                                   if isinstance(err, OSError) and not isinstance(err, urllib.error.URLError)
                                   else "")) from None
        finally:
            socket.setdefaulttimeout(old)
        md5 = hashlib.md5(tmp.read_bytes()).hexdigest()
        if md5 != LFW_MD5:
            tmp.unlink()
            raise FaceDataError(f"LFW: the download from {LFW_URL} is not the expected file (md5 {md5}, "
                                f"expected {LFW_MD5}); it was deleted.\n" + _lfw_get_help(root))
        os.replace(tmp, archive)
    return _lfw_extract(archive, root)


def lfw(image_size: int = 64, root=None, download: bool = True, crop: int | None = None, n: int | None = None,
        workers: int = 0, skip_bad: bool = False, progress: bool = True, cache_dir=None) -> ImageData:
    """LFW deep-funneled (source 000) as ImageData, uint8 ``(N, 3, image_size, image_size)`` (13,233 faces).

    Looks under ``root`` (default: the data root) for the extracted folder, then for the ``.tgz``, then
    downloads it when ``download`` (source 000's address). Source 000 shrinks the whole 250x250 picture;
    ``crop`` (e.g. 150) first keeps only a centred square around the face. Raises :class:`FaceDataError`.
    An archive is extracted into a hidden temporary folder and renamed when complete; a damaged one raises
    :class:`FaceDataError` naming it. ``image_size`` (8..1024), ``n`` (None or >= 1) and ``crop`` (None or
    1..250) are checked first (ValueError).
    """
    image_size, n = check_image_size(image_size, "faces.lfw"), check_n(n, "faces.lfw")
    crop = check_int(crop, "faces.lfw", "crop", 1, 250, none="the whole picture",
                     meaning="the side of the centred square cut from the 250x250 picture first (e.g. 150)")
    root = Path(root or default_root())
    folder = _lfw_folder(root) or _lfw_fetch(root, download)
    paths = sorted(folder.rglob("*.jpg"))[:n]
    key = _listing_key("lfw", folder, paths, image_size, f"crop={crop}")

    def make():
        images, bad = decode_files(paths, image_size, crop, workers, progress, desc="LFW, once")
        if bad and not skip_bad:
            _raise_bad("LFW", bad, len(paths), f"extract lfw-deepfunneled.tgz into {root} again")
        if bad:
            loud(f"LFW: left out {len(bad):,} files that are not readable images (skip_bad=True).")
        return ImageData(images, None, f"LFW deep-funneled from {folder} ({len(images):,} faces)")

    return _cached(f"faces-lfw-{key}-{image_size}px.pt", _cache_dir(cache_dir), make)


def offline_faces(image_size: int = 32, flip: bool = True) -> ImageData:
    """The 100 real LFW faces inside scikit-image (25x25, gray), as uint8 ``(N, 1, image_size, image_size)``.

    With ``flip`` their mirror images follow them: 200 pictures (a face flipped left-right is still a face).
    Needs no network and no disk: ``skimage.data.lfw_subset()`` ships inside the wheel. ``image_size``: an
    int in 8..1024 (ValueError otherwise).
    """
    from skimage.data import lfw_subset

    image_size = check_image_size(image_size, "faces.offline_faces")

    faces = torch.from_numpy(np.round(lfw_subset()[:N_OFFLINE_FACES] * 255)).to(torch.uint8)[:, None]
    if flip:
        faces = torch.cat([faces, faces.flip(-1)])
    return ImageData(resize_uint8(faces, image_size), None,
                     f"scikit-image's {N_OFFLINE_FACES} real LFW faces (25x25 gray)"
                     + (" and their mirror images" if flip else "") + f", {len(faces)} pictures")


def to_channels(data: ImageData, nc: int) -> ImageData:
    """The same images with ``nc`` channels: gray -> RGB repeats the plane, RGB -> gray takes the luma
    (ITU-R 601 weights, as PIL's ``convert("L")``). Source 000 meant this check as ``img.ndim == 2``."""
    c = data.images.shape[1]
    if c == nc:
        return data
    if c == 1 and nc == 3:
        return ImageData(data.images.expand(-1, 3, -1, -1).contiguous(), data.labels, data.source + ", gray as RGB")
    if c == 3 and nc == 1:
        w = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
        gray = (data.images.float() * w).sum(1, keepdim=True).round().clamp(0, 255).to(torch.uint8)
        return ImageData(gray, data.labels, data.source + ", in gray")
    raise ValueError(f"Cannot turn {c}-channel images into {nc} channels; use nc = 1 or 3.")


# what makes "auto" move on to the next source: FaceDataError (missing, mis-laid-out or broken data) and the
# raw errors of a damaged archive or an unwritable folder; a ValueError (a wrong argument) is never swallowed
_SOURCE_ERRORS = (OSError, EOFError, tarfile.TarError, zlib.error)


def _problem(source: str, err: BaseException) -> str:
    text = str(err)
    return text if isinstance(err, FaceDataError) else f"{source}: {type(err).__name__}: {text}"


def load(cfg: Config, progress: bool = True) -> ImageData:
    """The faces ``cfg`` asks for, as uint8 ``(N, cfg.nc, cfg.image_size, cfg.image_size)`` ImageData.

    ``cfg.chapter.dataset``: ``"celeba"`` | ``"lfw"`` (errors are raised) | ``"offline"`` | ``"auto"``
    (CelebA at ``cfg.dataroot``, else LFW -- downloaded if ``cfg.chapter.download`` --, else, loudly, the
    offline faces). ``cfg.chapter.workers`` processes decode JPEGs; ``cfg.n_train`` keeps the first images.
    With ``"auto"`` any failure of a source to load (a missing folder, a damaged archive or file, a folder
    that cannot be written) moves on to the next source, loudly, saying what went wrong. ``cfg.image_size``
    (8..1024) and ``cfg.n_train`` (None or >= 1) are checked before anything is read (ValueError).
    """
    chapter = cfg.chapter
    dataset, workers = chapter.dataset, chapter.workers
    if dataset not in ("auto", "celeba", "lfw", "offline"):
        raise ValueError(f"cfg.chapter.dataset = {dataset!r}; use auto, celeba, lfw or offline.")
    check_image_size(cfg.image_size, "faces.load", "cfg.image_size")
    check_n(cfg.n_train, "faces.load", "cfg.n_train")
    data, problems = None, []
    if dataset in ("auto", "celeba"):
        try:
            data = celeba(cfg.dataroot, cfg.image_size, cfg.n_train, workers, chapter.skip_bad, progress)
        except _SOURCE_ERRORS as err:
            if dataset == "celeba":
                raise
            problems.append(_problem("CelebA", err))
    if data is None and dataset in ("auto", "lfw"):
        try:
            data = lfw(cfg.image_size, download=chapter.download, crop=chapter.lfw_crop,
                       n=cfg.n_train, workers=workers, progress=progress)
            if problems:
                loud(f"FACES: no usable CelebA at {resolve_root(cfg.dataroot)}, so this run falls back to LFW:\n"
                     f"training on {data.source}.\n\nWhat was tried:\n" + problems[0])
        except _SOURCE_ERRORS as err:
            if dataset == "lfw":
                raise
            problems.append(_problem("LFW", err))
    if data is None:
        if dataset == "auto":
            loud("FACES: neither CelebA nor LFW is available, so this run uses the OFFLINE FALLBACK:\n"
                 f"the {N_OFFLINE_FACES} real LFW faces that ship with scikit-image (25x25 gray) and their mirror "
                 f"images,\n{2 * N_OFFLINE_FACES} pictures in all. Expect small gray faces, not the colour "
                 "CelebA faces of the sources.\n\nWhat was tried:\n" + "\n\n".join(problems))
        data = offline_faces(cfg.image_size)
    if data.images.shape[-1] != cfg.image_size:
        data = ImageData(resize_uint8(data.images, cfg.image_size), None, data.source)
    return to_channels(data, cfg.nc).take(cfg.n_train)


# ---------------------------------------------------------------- the sources' run inputs (source 002)
RUN_INPUTS = """
dataroot    folder ABOVE img_align_celeba; a relative path lives in the data root ($GANLIB_DATA)
workers     processes decoding JPEGs; here only once, to fill the uint8 cache (0: this process)
batch_size  images per mini-batch (m in Algorithm 1); the DCGAN paper uses 128
image_size  side of the square images after resize + centre crop; G and D are built for it
nc          colour channels: 3 for CelebA and LFW, 1 for the gray offline faces
nz          length of the latent vector z ~ N(0, I) that G turns into an image
ngf         G's width: channels of its last hidden layer (8*ngf in its first, at 64 px)
ndf         D's width: channels of its first layer (8*ndf in its last hidden one, at 64 px)
num_epochs  passes over the training images
lr          Adam's learning rate, both nets; DCGAN paper: 0.0002
beta1       Adam's beta1; DCGAN paper: 0.5 (the usual 0.9 made training oscillate)
ngpu        GPUs used (the tutorial's 0 meant CPU); ganlib picks the device itself, gl.device()
"""  # source 002's list of the tutorial's run inputs, each with what it means here


@dataclass
class RunInputs:
    """The twelve run inputs of the PyTorch DCGAN tutorial (source 002's list), read from a Config;
    ``table()`` prints each with what it means (``RUN_INPUTS``)."""

    dataroot: str
    workers: int
    batch_size: int
    image_size: int
    nc: int
    nz: int
    ngf: int
    ndf: int
    num_epochs: int
    lr: float
    beta1: float
    ngpu: int

    @classmethod
    def from_config(cls, cfg: Config) -> "RunInputs":
        ngpu = 1 if torch.cuda.is_available() else 0  # ganlib trains on one device
        return cls(str(resolve_root(cfg.dataroot)), cfg.chapter.workers, cfg.batch_size, cfg.image_size,
                   cfg.nc, cfg.nz, cfg.ngf, cfg.ndf, cfg.num_epochs, cfg.lr, cfg.beta1, ngpu)

    def table(self) -> str:
        """One line per input: name, value, and what it means."""
        means = dict(line.split(None, 1) for line in RUN_INPUTS.strip().splitlines())
        rows = [(f.name, repr(getattr(self, f.name)), means[f.name]) for f in fields(self)]
        w = max(len(v) for _, v, _ in rows)
        return "\n".join(f"{k:<11}{v:<{w + 2}}{m}" for k, v, m in rows)


# ---------------------------------------------------------------- theory and small experiments
@torch.no_grad()
def init_effect(cfg: Config, real: torch.Tensor, stds=(0.02, 0.2), n: int = 64) -> dict:
    """What the init std does to freshly built nets: for each std, ``{"saturated": share of G's output
    pixels with |x| > 0.99 (tanh saturated), "logit_sd": std of D's logits on ``real`` (B, C, H, W) in [-1, 1]
    and on G's fakes, "d_x": mean D(x) on ``real``}``. Nets are built from ``cfg`` with the seed in it."""
    from .models import build

    out = {}
    for std in stds:
        G, D = build(cfg.replace(init_std=std))
        G.train(), D.train()  # as in the first training step
        gen = torch.Generator().manual_seed(cfg.seed)
        fake = G(torch.randn(n, cfg.nz, generator=gen))
        logits = torch.cat([D(real[:n]), D(fake)])
        out[std] = {"saturated": float((fake.abs() > 0.99).float().mean()),
                    "logit_sd": float(logits.std()), "d_x": float(torch.sigmoid(D(real[:n])).mean())}
    return out


def forward_macs(net: torch.nn.Module, x: torch.Tensor) -> int:
    """Multiply-adds of one forward pass of ``net`` on ``x``, per sample, counted by PyTorch's
    ``torch.utils.flop_counter.FlopCounterMode`` (which counts 2 FLOPs per multiply-add); net in eval mode."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with eval_mode(net), counter:
        net(x)
    return counter.get_total_flops() // 2 // x.shape[0]


def gpu_estimate(cfg: Config, n_images: int = 202_599, tflops: float = 4.0) -> dict:
    """A rough GPU time for training ``cfg`` on ``n_images`` (default: all of CelebA), from multiply-adds.

    Per image, one G update runs G twice (the fakes for D's step, then for G's) and D three times (real,
    fake, fake again); a backward pass costs about twice its forward pass, and D's step sends nothing back
    into G. ``tflops``: the sustained rate you assume (a Colab T4 keeps up a few TFLOP/s on these small
    convolutions, an A100 or H100 several times more). Returns the multiply-adds of one forward pass per
    image (``macs_G``, ``macs_D``), the number of G updates (``steps``) and ``minutes``. Data loading costs
    nothing extra here because the images are decoded once into memory.
    """
    from .models import build

    G, D = build(cfg)
    macs_g = forward_macs(G, torch.zeros(2, cfg.nz))
    macs_d = forward_macs(D, torch.zeros(2, cfg.nc, cfg.image_size, cfg.image_size))
    # G: one forward without gradients + one forward/backward (x3); D: real, fake, fake again (x3 each)
    per_image = macs_g * (1 + 3) + macs_d * 3 * 3
    steps = (n_images // cfg.batch_size) * cfg.num_epochs
    flop = 2 * per_image * cfg.batch_size * steps
    return {"macs_G": macs_g, "macs_D": macs_d, "steps": steps, "minutes": flop / (tflops * 1e12) / 60}


def panels(items, size: float = 5.0):
    """Pictures side by side, each with a title: ``items`` is ``[(title, picture), ...]`` where a picture is
    a batch ``(B, C, H, W)`` (shown as a grid) or a uint8 frame ``(H, W, C)`` such as a snapshot."""
    import matplotlib.pyplot as plt

    from .viz import _imshow, grid

    fig, axes = plt.subplots(1, len(items), figsize=(size * len(items), size), squeeze=False)
    for ax, (title, pic) in zip(axes[0], items):
        pic = grid(pic) if (torch.is_tensor(pic) and pic.dim() == 4) else np.asarray(pic)
        _imshow(ax, pic, title)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- inside the networks (chapter 4, section 3)
@torch.no_grad()
def layer_sides(net: torch.nn.Module, x: torch.Tensor) -> list[tuple[str, torch.nn.Module, int, int]]:
    """Run ``net`` on ``x`` and record, for every ``Conv2d`` / ``ConvTranspose2d`` in order, ``(name, layer,
    side of its input, side of its output)`` as the layer really saw them (forward hooks); net in eval mode.
    Used to check the output-size formulas (:func:`ganlib.models.conv_transpose_size`) against real shapes."""
    seen, hooks = [], []
    for name, m in net.named_modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            hooks.append(m.register_forward_hook(
                lambda mod, inp, out, name=name: seen.append((name, mod, inp[0].shape[-1], out.shape[-1]))))
    try:
        with eval_mode(net):
            net(x)
    finally:
        for h in hooks:
            h.remove()
    return seen


def show_maps(items, size: float = 3.8, annotate: bool = True, cmap: str = "viridis"):
    """Small 2-D maps side by side, each with its title and colour bar: ``items`` is ``[(title, map (H, W)),
    ...]``; with ``annotate``, a map of whole numbers (such as overlap counts) of at most 12x12 shows each
    cell's value (maps of other numbers are read from the colours)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(items), figsize=(size * len(items), size), squeeze=False)
    for ax, (title, m) in zip(axes[0], items):
        m = np.asarray(torch.as_tensor(m, dtype=torch.float64).squeeze())
        im = ax.imshow(m, cmap=cmap, interpolation="nearest")
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        if annotate and max(m.shape) <= 12 and np.allclose(m, np.round(m)):
            mid = (m.max() + m.min()) / 2
            for (i, j), v in np.ndenumerate(m):
                ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=8,
                        color="black" if v > mid else "white")
        ax.set_title(title, fontsize=10)
        ax.set_xticks([]), ax.set_yticks([])
    fig.tight_layout()
    return fig


def nyquist_share(images: torch.Tensor) -> torch.Tensor:
    """For each image ``(B, C, H, W)`` (H, W even), the share of its power spectrum (mean removed) that lies
    on the highest-frequency row and column of the 2-D DFT, where a pattern repeating every 2 pixels -- the
    checkerboard a stride-2 transposed convolution leaves -- puts its power. Returns ``(B,)`` in [0, 1].
    Smooth natural pictures have little power there, so compare with real images."""
    x = images.double()
    x = x - x.mean(dim=(-2, -1), keepdim=True)
    power = torch.fft.fft2(x).abs().pow(2).sum(1)              # (B, H, W), channels summed
    h, w = power.shape[-2:]
    band = torch.zeros(h, w, dtype=torch.bool)
    band[h // 2, :] = True
    band[:, w // 2] = True
    total = power.sum(dim=(-2, -1)).clamp_min(1e-30)
    return (power[:, band].sum(-1) / total).float()


# ---------------------------------------------------------------- is it copying? (chapter 4, section 6)
@torch.no_grad()
def nearest_training(images: torch.Tensor, data: ImageData, exclude_self: bool = False,
                     chunk: int = 2048) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`ganlib.metrics.nearest` of ``images`` ``(B, C, H, W)`` in [-1, 1] against every picture of
    ``data``, ``chunk`` pictures at a time (CelebA does not fit in memory as floats). Returns ``(index (B,)``
    into ``data``, ``mean squared distance (B,))``. ``exclude_self``: skip exact and mirror copies."""
    from .metrics import nearest

    best_d = torch.full((len(images),), float("inf"))
    best_i = torch.zeros(len(images), dtype=torch.long)
    for start in range(0, len(data), chunk):
        pool, _ = data.get(torch.arange(start, min(start + chunk, len(data))))
        i, d = nearest(images, pool, exclude_self=exclude_self)
        better = d < best_d
        best_d[better], best_i[better] = d[better], i[better] + start
    return best_i, best_d


def memorisation(G: torch.nn.Module, data: ImageData, nz: int, n: int = 256, seed: int = 1) -> dict:
    """The nearest-neighbour check of chapter 4 with ``n`` pairs on each side.

    ``fake``: ``n`` generated images ``(n, C, H, W)`` (noise seed ``seed``), ``fake_index`` / ``fake_dist``:
    their nearest training pictures and mean squared distances ``(n,)``; ``real_dist``: the same for ``n``
    training pictures (at most all of them) against the others, exact and mirror copies excluded -- the
    real-vs-real baseline (how close two *different* real faces come).
    """
    from .metrics import generate

    fake = generate(G, n, nz, seed=seed)
    fake_index, fake_dist = nearest_training(fake, data)
    pick = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))[:n]
    real, _ = data.get(pick)
    _, real_dist = nearest_training(real, data, exclude_self=True)
    return {"fake": fake, "fake_index": fake_index, "fake_dist": fake_dist, "real_dist": real_dist}


# ---------------------------------------------------------------- walks and arithmetic in z (chapter 4, section 6)
def latents(nz: int, n: int, seed: int = 0) -> torch.Tensor:
    """``n`` latent vectors ``(n, nz)`` from N(0, I), drawn with their own seeded generator."""
    return torch.randn(n, nz, generator=torch.Generator().manual_seed(seed))


@torch.no_grad()
def render(G: torch.nn.Module, z: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """G's images for the latent vectors ``z`` ``(n, nz)``, in eval mode, on the CPU: ``(n, C, H, W)``."""
    where = next(G.parameters()).device
    with eval_mode(G):
        return torch.cat([G(z[i:i + batch_size].to(where)).cpu() for i in range(0, len(z), batch_size)])


def interpolation_frames(G: torch.nn.Module, nz: int, n_frames: int = 16, n_paths: int = 8, seed: int = 0,
                         scale: int = 2) -> tuple[list[np.ndarray], list[str], torch.Tensor]:
    """Frames of ``n_paths`` faces side by side while each face's z walks along :func:`ganlib.models.slerp`
    from one random z to another (pairs drawn with ``seed``).

    Returns ``(frames, labels, path)``: uint8 pictures ``(H, W, C)`` enlarged ``scale`` times, one label per
    frame (``"t = 0.25"``), and the latent path ``(n_frames, n_paths, nz)``; for
    ``ganlib.player.player(frames, labels=labels)``.
    """
    from .models import slerp
    from .viz import grid

    ends = latents(nz, 2 * n_paths, seed)
    ts = torch.linspace(0, 1, n_frames)
    path = torch.stack([slerp(ends[i], ends[n_paths + i], ts) for i in range(n_paths)], dim=1)  # (T, P, nz)
    images = render(G, path.reshape(-1, nz))                                                    # (T*P, C, H, W)
    images = images.view(n_frames, n_paths, *images.shape[1:])
    frames = [np.ascontiguousarray(grid(images[i], nrow=n_paths).repeat(scale, 0).repeat(scale, 1))
              for i in range(n_frames)]
    return frames, [f"t = {t:.2f}" for t in ts.tolist()], path


def face_attributes(images: torch.Tensor) -> dict[str, torch.Tensor]:
    """Two attributes any face picture ``(B, C, H, W)`` in [-1, 1] has, measured without labels:
    ``"light"``: mean of the left half minus mean of the right half (> 0: lit from the viewer's left), and
    ``"brightness"``: the mean pixel value. Both ``(B,)``. (CelebA's 40 labelled attributes, such as
    Smiling and Male, need its ``list_attr_celeba.txt`` and a classifier to read them off generated faces.)"""
    w = images.shape[-1]
    x = images.float().mean(1)                                   # (B, H, W), channels averaged
    return {"light": x[..., : w // 2].mean((-2, -1)) - x[..., w - w // 2:].mean((-2, -1)),
            "brightness": x.mean((-2, -1))}


def corner_groups(a: torch.Tensor, b: torch.Tensor, k: int) -> dict[tuple[int, int], torch.Tensor]:
    """Indices of four groups of ``k`` samples each, picked by two scores ``a``, ``b`` ``(n,)``: for
    ``(sa, sb)`` in {-1, +1}^2 the ``k`` samples with the largest ``sa * rank(a) + sb * rank(b)`` (high or low
    in each score). E.g. ``(+1, -1)``: high ``a`` and low ``b``. The groups may share no sample: a sample
    is given to the group that ranks it best."""
    ra = a.argsort().argsort().double() / max(len(a) - 1, 1) * 2 - 1      # ranks in [-1, 1]
    rb = b.argsort().argsort().double() / max(len(b) - 1, 1) * 2 - 1
    corners = [(1, 1), (1, -1), (-1, 1), (-1, -1)]
    score = torch.stack([sa * ra + sb * rb for sa, sb in corners])       # (4, n)
    owner = score.argmax(0)
    out = {}
    for c, corner in enumerate(corners):
        mine = (owner == c).nonzero().view(-1)
        out[corner] = mine[score[c, mine].argsort(descending=True)[:k]]
    return out


def untile(frame, side: int, padding: int = 2) -> torch.Tensor:
    """The pictures of a grid made by :func:`ganlib.train.image_snapshot` (uint8 ``(H, W, C)``, pictures of
    ``side`` pixels, ``padding`` pixels apart) back as uint8 ``(rows * cols, C, side, side)``, row by row: a
    snapshot taken during training becomes images that can be measured (e.g. :func:`nyquist_share`)."""
    frame = torch.as_tensor(np.asarray(frame))
    if frame.dim() == 2:
        frame = frame[:, :, None]
    step = side + padding
    rows, cols = (frame.shape[0] - padding) // step, (frame.shape[1] - padding) // step
    return torch.stack([frame[padding + r * step: padding + r * step + side,
                              padding + c * step: padding + c * step + side].permute(2, 0, 1)
                        for r in range(rows) for c in range(cols)])


def attribute_shift(result: dict, population: dict, min_shift: float | None = None) -> dict[str, float]:
    """How far the mean attributes of ``result`` faces lie from the mean of a ``population`` of G's faces, in
    the population's standard deviations: ``{name: (mean(result[name]) - mean(pop[name])) / std(pop[name])}``
    for the attribute dicts of :func:`face_attributes`. With ``min_shift`` (a number) every shift must be at
    least that large, else AssertionError; ``None`` means not checked at this size (the chapter's settings
    say, ``cfg.chapter.arithmetic_shift``: an untrained G's faces barely differ, so no shift is promised)."""
    shifts = {k: float((result[k].mean() - population[k].mean()) / population[k].std()) for k in result}
    if min_shift is not None:
        low = {k: round(v, 2) for k, v in shifts.items() if v < min_shift}
        assert not low, f"z arithmetic moved these attributes less than {min_shift} standard deviations: {low}"
    return shifts
