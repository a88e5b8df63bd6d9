"""ganlib: the small library behind the course "GANs, from the minimax game to conditional DCGANs".

Import it as ``import ganlib as gl``; a chapter then reads::

    cfg = gl.preset("dcgan-mnist")            # sized by GANLIB_SIZE: quick | book | full
    data = gl.data.mnist(cfg.image_size)
    G, D = gl.models.build(cfg)
    run = gl.fit(G, D, data, cfg, checkpoint="runs/dcgan-mnist.pt")
    gl.viz.losses(run.history); gl.viz.player(run.history.snapshots)

Core modules (one job each): config, data, models, losses, train, checkpoint, metrics, viz.
Chapter modules, imported on first use (``gl.theory`` imports ganlib/theory.py): theory, toy1d, toy2d,
unrolled, faces, conditional, player, variants.
Importing ganlib has no side effects.
"""
import importlib

from . import checkpoint, config, data, losses, metrics, models, train, viz
from .config import Config, describe, device, preset, seed_everything, size
from .train import History, Run, d_step, fit, g_step

__all__ = ["checkpoint", "config", "data", "losses", "metrics", "models", "train", "viz",
           "Config", "describe", "device", "preset", "seed_everything", "size",
           "History", "Run", "d_step", "fit", "g_step"]
__version__ = "0.1.0"

_LAZY = ("theory", "toy1d", "toy2d", "unrolled", "faces", "conditional", "player", "variants")


def __getattr__(name):
    if name in _LAZY:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'ganlib' has no attribute {name!r}")
