"""Two small idioms every floor of ganlib needs: nets in eval mode for a moment, and atomic file writes.

Floor 0 (imports nothing from ganlib).

Taught in: nowhere on its own; every chapter uses both through the library.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

STALE_SECONDS = 3600  # a temporary file of a killed writer older than this is removed by the next writer


@contextlib.contextmanager
def eval_mode(*nets: nn.Module):
    """Put ``nets`` in eval mode and turn gradients off inside the block; restore each net's mode after.

    Use it for snapshots, samples and measurements: BatchNorm then uses its running statistics, dropout is
    off, and no graph is built. ``with eval_mode(G): fake = G(z)``.
    """
    modes = [net.training for net in nets]
    for net in nets:
        net.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        for net, mode in zip(nets, modes):
            net.train(mode)


def temp_prefix(path: Path) -> str:
    """The prefix of the temporary files written next to ``path`` (hidden, named after it)."""
    return f".{path.name}.tmp-"


def remove_stale_temps(path, older_than: float = STALE_SECONDS) -> int:
    """Delete temporary files of ``path`` left by writers killed more than ``older_than`` seconds ago."""
    path = Path(path)
    removed = 0
    if not path.parent.is_dir():
        return 0
    for tmp in path.parent.glob(temp_prefix(path) + "*"):
        try:
            if time.time() - tmp.stat().st_mtime > older_than:
                tmp.unlink()
                removed += 1
        except OSError:
            pass  # another writer's file, just renamed or removed
    return removed


def atomic_write(path, write) -> None:
    """Write ``path`` atomically: ``write(f)`` fills a unique temporary file (binary) in the same folder, which
    then replaces ``path`` with ``os.replace``.

    A reader never sees a half-written file, a writer killed mid-way leaves the old file intact, and two
    writers of one path each rename their own complete file (the last one wins). Stale temporary files of
    killed writers are cleaned up.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path), dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_save(obj, path) -> None:
    """``torch.save(obj, path)`` through :func:`atomic_write`."""
    atomic_write(path, lambda f: torch.save(obj, f))
