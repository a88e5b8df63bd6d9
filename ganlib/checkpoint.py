"""Checkpoints: a training run's state in and out of one file, atomically and safely.

A run's checkpoint holds its nets, both optimisers, the step/epoch position (with the epoch's shuffle
order), the configuration, what data it trains on, the fixed noise, the History with its snapshots, and
the RNG states (``ganlib.train.Run.state_dict`` makes that dict; this module knows nothing of Run). It is
written atomically (:func:`ganlib.util.atomic_save`) and read back with ``torch.load(weights_only=True)``
(no pickled code runs). Resuming is refused, before any work, when the configuration or the data differ.

Where runs go: ``$GANLIB_RUNS`` (default ``runs`` beside the notebook), one file per preset and size
(:func:`run_path`); point it at Google Drive on Colab so that a recycled machine resumes.

Floor 1 (imports config, util). Taught in: "DCGAN on MNIST" (resume), "DCGAN on faces" (save and reload G).
"""
from __future__ import annotations

import dataclasses
import os
import random
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .config import Config
from .util import atomic_save

# Fields that may change between a run and its resumption: the training budget and logging only.
RESUMABLE_CHANGES = {"num_epochs", "max_steps", "log_every", "dataroot", "size"}
FORMAT = 2  # 2: the data a run trains on is recorded; the chapter settings are typed


def runs_dir() -> Path:
    """Where checkpoints go: ``$GANLIB_RUNS`` if set, else ``runs`` (relative to the working folder)."""
    return Path(os.environ.get("GANLIB_RUNS", "runs"))


def run_path(cfg: Config, tag: str = "") -> Path:
    """The checkpoint file of preset ``cfg.name`` at ``cfg.size``: ``$GANLIB_RUNS/<name>[-tag]-<size>.pt``."""
    name = cfg.name.replace("/", "-") + (f"-{tag}" if tag else "")
    return runs_dir() / f"{name}-{cfg.size}.pt"


def exists(path) -> bool:
    return Path(path).is_file()


def check_writable(path) -> None:
    """Raise a clear error now, not after an epoch, when a checkpoint cannot be written at ``path``."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"The checkpoint path {path} is a folder; give a file path such as {path / 'run.pt'}.")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise NotADirectoryError(f"Cannot write the checkpoint {path}: {parent} is a file, not a folder. "
                                         "Give another checkpoint path.")
            break
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path.parent):
            pass
    except OSError as err:
        raise PermissionError(f"Cannot write the checkpoint {path} ({type(err).__name__}: {err.strerror or err}). "
                              "Choose a writable folder, e.g. set GANLIB_RUNS or pass another checkpoint path.") from None


def rng_state(generator: torch.Generator) -> dict:
    """Every RNG a run draws from: its own ``generator``, torch (CPU, CUDA), NumPy and Python."""
    np_state = np.random.get_state()
    return {
        "run": generator.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "gauss": float(np_state[4])},
        "python": random.getstate(),
    }


def set_rng_state(state: dict, generator: torch.Generator) -> None:
    """Restore what :func:`rng_state` saved (``generator`` gets the run's own state)."""
    generator.set_state(state["run"])
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    random.setstate(state["python"])


def save(path, state: dict) -> None:
    """Write a run's ``state`` (``Run.state_dict()``) to ``path`` atomically."""
    atomic_save({"format": FORMAT, "kind": "run", **state}, path)


def read(path) -> dict:
    """The raw contents of a checkpoint (tensors and plain Python values), with clear errors."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No checkpoint at {path}.")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ValueError(f"{path} is not a readable ganlib checkpoint ({type(err).__name__}: {str(err)[:200]}). "
                         "Delete it (or pass another path) to start a new run.") from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        found = blob.get("format") if isinstance(blob, dict) else type(blob).__name__
        raise ValueError(f"{path} is not a ganlib checkpoint of format {FORMAT} (found {found!r}). "
                         "Delete it (or pass another path) to start a new run.")
    return blob


def config_differences(saved: dict, cfg: Config) -> list[str]:
    """Lines ``field: checkpoint has A, this run asks for B`` for every field that must not change.

    A field the checkpoint does not have (it was saved before the field existed) counts as its default.
    """
    defaults = {f.name: f.default for f in dataclasses.fields(Config) if f.default is not dataclasses.MISSING}
    saved = {**defaults, **saved}
    now = cfg.to_dict()
    return [f"{k}: the checkpoint has {saved.get(k)!r}, this run asks for {now.get(k)!r}"
            for k in sorted(set(saved) | set(now)) if k not in RESUMABLE_CHANGES and saved.get(k) != now.get(k)]


def read_run(path, cfg: Config, data_id: dict) -> dict:
    """The run state saved at ``path``, after checking that it is a whole run made with ``cfg`` on the data
    described by ``data_id`` (``ganlib.train.data_identity``); refuses with what differs and what to do."""
    blob = read(path)
    if blob.get("kind") != "run":
        raise ValueError(f"{path} holds only a generator (saved by gl.checkpoint.save_generator), not a training "
                         "run. Load it with gl.checkpoint.load_generator(path, G), or give fit another checkpoint path.")
    diff = config_differences(blob["config"], cfg)
    if diff:
        raise ValueError(f"Cannot resume {path}: it was made with another configuration.\n  " + "\n  ".join(diff)
                         + "\nUse the same settings, or give a new checkpoint path to start a fresh run.")
    saved = blob["data"]
    diff = [f"{k}: the checkpoint trained on {saved.get(k)!r}, this run has {data_id.get(k)!r}"
            for k in ("source", "count", "shape", "fingerprint") if saved.get(k) != data_id.get(k)]
    if diff:
        raise ValueError(f"Cannot resume {path}: it was trained on other data.\n  " + "\n  ".join(diff)
                         + "\nTrain on the same data (e.g. the same GANLIB_DATA), or delete the checkpoint "
                         "(or give another path) to start a fresh run on this data.")
    return blob


def save_generator(path, G: nn.Module, cfg: Config) -> None:
    """Save G's weights with its configuration (atomically), for reloading into a fresh G."""
    atomic_save({"format": FORMAT, "kind": "generator", "config": cfg.to_dict(), "G": G.state_dict()}, path)


def load_generator(path, G: nn.Module, cfg: Config | None = None) -> nn.Module:
    """Load weights saved by :func:`save_generator` (or a run's checkpoint) into ``G``; checks the config."""
    blob = read(path)
    if cfg is not None:
        diff = config_differences(blob["config"], cfg)
        if diff:
            raise ValueError(f"{path} was saved for another configuration:\n  " + "\n  ".join(diff))
    try:
        G.load_state_dict(blob["G"])
    except RuntimeError as err:
        raise ValueError(f"{path} holds the weights of another generator than this G: {str(err)[:300]}") from None
    return G
