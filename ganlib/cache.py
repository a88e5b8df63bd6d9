"""The result cache: what a computation returns, saved under its settings and loaded when asked again.

``run, jsd = gl.cache.memo("03-gan", (cfg, data), train)`` calls ``train()`` once and saves its result in
``$GANLIB_RUNS/cache``; later calls with the same key and the same ganlib training code
(:func:`code_fingerprint`) load it. Checkpoints resume the long image runs; this cache keeps the short runs
and measurements, with whatever a callback collected beside the run.

Floor 3 (imports checkpoint, config, util). Taught in: "Training on a 1-D toy" (its runs are the first cached);
used by the toy and side runs of chapters 1, 3, 4, 7 and 8.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import re
from pathlib import Path
from typing import Callable, TypeVar

import numpy as np
import torch

from .checkpoint import runs_dir
from .config import Config
from .config import size as current_size
from .util import atomic_save

T = TypeVar("T")

# Modules that only present results; editing them keeps the cached results. Every other ganlib/*.py counts.
PRESENTATION = ("viz", "player", "results", "__main__", "cache")
_DATA_FIELDS = ("images", "x", "labels", "source", "centers", "std", "kind")


@functools.lru_cache(maxsize=None)
def code_fingerprint() -> str:
    """A short sha256 digest of the source of ganlib's training code: every ``ganlib/*.py`` but the
    :data:`PRESENTATION` modules. Read once per process, so it describes the code this process runs."""
    h = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        if path.stem not in PRESENTATION:
            h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def _digest(x) -> bytes:
    """sha256 of ``x``'s type and value; containers hash their parts' digests (fixed length, unambiguous)."""
    def of(tag: str, *parts: bytes) -> bytes:
        return hashlib.sha256(tag.encode() + b"\0" + b"".join(parts)).digest()

    if isinstance(x, Config):
        return of("Config", _digest(x.to_dict()))
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        fields = {f.name: getattr(x, f.name) for f in dataclasses.fields(x)}
        return of(f"dataclass {type(x).__qualname__}", _digest(fields))
    if x is None or isinstance(x, (bool, str)):
        return of(type(x).__name__, repr(x).encode())
    if isinstance(x, int):
        return of("int", str(int(x)).encode())
    if isinstance(x, float):  # NumPy's float64 too
        return of("float", repr(float(x)).encode())
    if isinstance(x, (list, tuple)):
        return of(f"{type(x).__name__} {len(x)}", *map(_digest, x))
    if isinstance(x, dict):
        return of(f"dict {len(x)}", *sorted(_digest(k) + _digest(v) for k, v in x.items()))
    if isinstance(x, torch.Tensor):
        t = x.detach().cpu().contiguous().reshape(-1)
        return of(f"tensor {t.dtype} {tuple(x.shape)}", t.view(torch.uint8).numpy().tobytes())
    if isinstance(x, (np.ndarray, np.generic)) and np.asarray(x).dtype != object:
        a = np.ascontiguousarray(x)
        return of(f"array {a.dtype.str} {a.shape}", a.tobytes())
    if any(isinstance(getattr(x, f, None), torch.Tensor) for f in ("images", "x")):  # TensorData, ImageData
        return of(f"data {type(x).__qualname__}", _digest({f: getattr(x, f) for f in _DATA_FIELDS if hasattr(x, f)}))
    raise TypeError(f"A {type(x).__module__}.{type(x).__qualname__} cannot be part of a cache key. Pass what "
                    "makes it instead: Configs, dataclasses, numbers, strings, tensors, arrays or the data, in "
                    "tuples, lists or dicts (the settings a network is built from rather than the network, a "
                    "method's name rather than the function).")


def key_digest(key) -> str:
    """A short, stable hex digest of ``key``: Configs (``cfg.to_dict()``), dataclasses, dicts, lists, tuples,
    str / int / float / bool / None, tensors and arrays (dtype, shape and bytes), and data objects with
    ``.images`` or ``.x`` (their tensors in full). Anything else raises TypeError."""
    return _digest(key).hex()[:16]


def memo(name: str, key, compute: Callable[[], T]) -> T:
    """``compute()``, or its result saved by an earlier call with the same ``name``, ``key`` and training code.

    The file is ``$GANLIB_RUNS/cache/<name>-<size>-<digest>.pt`` (the size as in checkpoint names, so quick
    runs and book builds keep their own results); ``digest`` covers ``key`` and :func:`code_fingerprint`. A
    miss removes that name's older files, computes and saves atomically; if ``compute`` raises (Ctrl-C, a
    divergence) nothing is written. A result that cannot be saved is returned with a warning, uncached.
    A file that cannot be read is deleted and recomputed. Loading uses ``torch.load(weights_only=False)``:
    these are files ganlib itself wrote in your runs folder; do not put files from elsewhere there.
    """
    if not isinstance(name, str) or not name.strip() or any(c in name for c in "/\\\0") or name in (".", ".."):
        raise ValueError(f"A cache name is a non-empty file name without path separators, e.g. '03-gan'; got {name!r}.")
    folder = runs_dir() / "cache"
    stem = f"{name}-{current_size()}"
    path = folder / f"{stem}-{key_digest((key, code_fingerprint()))}.pt"
    if path.exists():
        try:
            result = torch.load(path, weights_only=False)
        except Exception as err:  # truncated, corrupt, from another torch: compute again
            print(f"{name}: could not read the result cache {path} ({type(err).__name__}: {err}); deleted it, "
                  "recomputing.")
            with contextlib.suppress(OSError):
                path.unlink()
        else:
            print(f"{name}: loaded from the result cache {path} (same settings, same ganlib training code); "
                  "delete it to recompute.")
            return result
    stale = re.compile(re.escape(stem) + r"-[0-9a-f]{16}\.pt")  # this name and size only, not "03-gan-k1"
    for old in sorted(folder.iterdir()) if folder.is_dir() else []:
        if old != path and stale.fullmatch(old.name):
            with contextlib.suppress(OSError):  # a read-only folder: the save below says so
                old.unlink()
                print(f"{name}: the result cache {old} is out of date (other settings or training code); removed.")
    result = compute()
    try:
        atomic_save(result, path)
    except Exception as err:  # e.g. a lambda inside the result, or a full disk
        print(f"Warning: {name}: the result is not cached ({type(err).__name__}: {err}); it is computed again "
              "next time.")
        return result
    print(f"{name}: saved to the result cache {path}; the next run with the same settings loads it.")
    return result
