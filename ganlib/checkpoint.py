"""Save and resume a whole training run in one file.

A checkpoint holds the nets, both optimisers, the step/epoch position (with the epoch's shuffle order),
the configuration, the fixed noise, the History with its snapshots, and the RNG states, so that a
resumed run continues exactly where it stopped. It is written atomically (to a temporary file that then
replaces the old one), so an interruption while saving never leaves a broken file, and read back with
``torch.load(weights_only=True)`` (no pickled code runs).

Taught in: "DCGAN on MNIST" (resume), "DCGAN on faces" (save and reload G).
"""
from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .config import Config

# Fields that may change between a run and its resumption: the training budget and logging only.
RESUMABLE_CHANGES = {"num_epochs", "max_steps", "log_every", "dataroot", "size"}
FORMAT = 1


def exists(path) -> bool:
    return Path(path).is_file()


def save_atomic(obj, path) -> None:
    """``torch.save(obj, path)`` through a temporary file and ``os.replace``: never a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _rng_state(run) -> dict:
    np_state = np.random.get_state()
    return {
        "run": run.generator.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "gauss": float(np_state[4])},
        "python": random.getstate(),
    }


def _set_rng_state(state: dict, generator: torch.Generator) -> None:
    generator.set_state(state["run"])
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    random.setstate(state["python"])


def save(path, run) -> None:
    """Write ``run`` (a :class:`ganlib.train.Run`) to ``path`` atomically."""
    save_atomic({
        "format": FORMAT,
        "config": run.cfg.to_dict(),
        "G": run.G.state_dict(), "D": run.D.state_dict(),
        "opt_g": run.opt_g.state_dict(), "opt_d": run.opt_d.state_dict(),
        "step": run.step, "epoch": run.epoch, "epoch_pos": run.epoch_pos,
        "epoch_perm": run.epoch_perm,
        "fixed_noise": run.fixed_noise.cpu(),
        "fixed_labels": None if run.fixed_labels is None else run.fixed_labels.cpu(),
        "history": run.history.to_dict(),
        "rng": _rng_state(run),
    }, path)


def read(path) -> dict:
    """The raw contents of a checkpoint (tensors and plain Python values), with clear errors."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No checkpoint at {path}.")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ValueError(f"{path} is not a readable ganlib checkpoint ({type(err).__name__}: {err}). "
                         "Delete it (or pass another path) to start a new run.") from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise ValueError(f"{path} is not a ganlib checkpoint of format {FORMAT}. "
                         "Delete it (or pass another path) to start a new run.")
    return blob


def config_differences(saved: dict, cfg: Config) -> list[str]:
    """Lines ``field: checkpoint has A, this run asks for B`` for every field that must not change."""
    now = cfg.to_dict()
    return [f"{k}: the checkpoint has {saved.get(k)!r}, this run asks for {now.get(k)!r}"
            for k in sorted(set(saved) | set(now)) if k not in RESUMABLE_CHANGES and saved.get(k) != now.get(k)]


def load(path, G: nn.Module, D: nn.Module, cfg: Config, device: torch.device | None = None):
    """Rebuild the :class:`ganlib.train.Run` saved at ``path`` into ``G`` and ``D``.

    Refuses (ValueError naming the fields) when ``cfg`` differs from the saved configuration in anything
    but the budget (``num_epochs``, ``max_steps``) and logging.
    """
    from .config import device as best_device
    from .train import History, Run, make_optimizer

    blob = read(path)
    diff = config_differences(blob["config"], cfg)
    if diff:
        raise ValueError(f"Cannot resume {path}: it was made with another configuration.\n  " + "\n  ".join(diff)
                         + "\nUse the same settings, or give a new checkpoint path to start a fresh run.")
    device = device or best_device()
    try:
        G.load_state_dict(blob["G"])
        D.load_state_dict(blob["D"])
    except RuntimeError as err:
        raise ValueError(f"{path} holds weights of other networks than G and D here: {str(err)[:300]}") from None
    G, D = G.to(device), D.to(device)
    opt_g, opt_d = make_optimizer(G.parameters(), cfg), make_optimizer(D.parameters(), cfg)
    opt_g.load_state_dict(blob["opt_g"])
    opt_d.load_state_dict(blob["opt_d"])
    generator = torch.Generator()
    _set_rng_state(blob["rng"], generator)
    fixed_labels = blob["fixed_labels"]
    return Run(cfg=cfg, G=G, D=D, opt_g=opt_g, opt_d=opt_d, fixed_noise=blob["fixed_noise"].to(device),
               fixed_labels=None if fixed_labels is None else fixed_labels.to(device),
               history=History.from_dict(blob["history"]), generator=generator, step=blob["step"],
               epoch=blob["epoch"], epoch_pos=blob["epoch_pos"], epoch_perm=blob["epoch_perm"], device=device)


def save_generator(path, G: nn.Module, cfg: Config) -> None:
    """Save G's weights with its configuration (atomically), for reloading into a fresh G."""
    save_atomic({"format": FORMAT, "config": cfg.to_dict(), "G": G.state_dict()}, path)


def load_generator(path, G: nn.Module, cfg: Config | None = None) -> nn.Module:
    """Load weights saved by :func:`save_generator` (or a full checkpoint) into ``G``; checks the config."""
    blob = read(path)
    if cfg is not None:
        diff = config_differences(blob["config"], cfg)
        if diff:
            raise ValueError(f"{path} was saved for another configuration:\n  " + "\n  ".join(diff))
    G.load_state_dict(blob["G"])
    return G
