"""ganlib: the small library behind the course "GANs, from the minimax game to conditional DCGANs".

Import it as ``import ganlib as gl``; a chapter then reads::

    cfg = gl.preset("dcgan-mnist")                # sized by GANLIB_SIZE: quick | book | full
    data = gl.data.mnist(cfg.image_size, n=cfg.n_train)
    G, D = gl.models.build(cfg)
    run = gl.fit(G, D, data, cfg, checkpoint=gl.checkpoint.run_path(cfg))
    gl.play(run)                                  # the progress player, with the loss curves

The map. Each module has one job and sits on a floor; a module imports only from floors below its own
(``tests/test_layout.py`` fails when that, or an import cycle, comes back):

====  ===========  ==================================================================================
floor module       its one job
====  ===========  ==================================================================================
0     util         two idioms: ``eval_mode(*nets)`` and ``atomic_save(obj, path)``
0     config       ``Config`` (every field commented), the chapters' settings types, sizes, device, seed
1     presets      every chapter's settings at its three sizes, as data; ``preset(name)``
1     data         datasets in memory (uint8 images, toy points); MNIST with its offline fallback
1     models       every architecture behind one ``build(cfg)``; the small ``mlp`` helper; DCGAN init
1     losses       losses as pure functions of D's outputs; loss terms (gradient penalty, matching, ...)
2     theory       the math, in closed form and by quadrature: D*, C(G), KL, JSD, Frechet of Gaussians
1     distributed  data parallelism under torchrun: process group, DDP wrappers, each rank's share
1     checkpoint   a run's state in and out of a file, atomically; where runs go (``$GANLIB_RUNS``)
2     results      the figures each chapter records, read back by the results page
2     train        ``fit`` = ``start_or_resume`` + ``GANStep`` (k D steps, one G step) + ``Bookkeeper``
3     steps        variations of the training step: ``FrozenG``, ``GradientProbe``, ``Unrolled``
3     metrics      measures: MNIST classifier, Frechet distance, MNIST score, class accuracy, modes, W1
3     cache        results saved under their settings and ganlib's code: ``memo(name, key, compute)``
3     viz          plots: image grids, loss curves, real vs fake, tables of results
4     player       the self-contained HTML/JS progress player; ``play(run)``
5     toy1d ...    chapter helpers, one per chapter: toy1d (1, 3), faces (4), conditional (6),
                   variants (7), toy2d (7, 8): only what their chapter needs
6     __main__     the command line: ``python -m ganlib --preset NAME`` (also under ``torchrun``)
====  ===========  ==================================================================================

Where new things go, with a one-line example each:

* a loss: a pair of pure functions and an entry in ``losses.LOSSES``:
  ``"my-loss": Loss("my-loss", d_my, g_my)``; a loss *term* (a regulariser) is a function in losses that
  ``GANStep.d_loss`` / ``g_loss`` adds when a Config field switches it on.
* a model: a class in models and a branch of ``models.build`` named by ``cfg.arch``:
  ``elif cfg.arch == "resnet": G, D = ResNetGenerator(...), ResNetDiscriminator(...)``.
* a training variation: a subclass of ``train.GANStep`` in steps that overrides one method:
  ``class Frozen(GANStep): def g_step(self, run): ...``; use it with ``gl.fit(..., step=Frozen())``.
* a metric: a function in metrics taking tensors: ``def precision(real_feats, fake_feats) -> float``.
* a chapter: a notebook ``notebooks/NN_name.ipynb``, a preset entry in presets (``"my-chapter": {"base": ...,
  "quick": ..., "book": ..., "full": ...}``), and, only if it needs code no other chapter needs, a
  module ``ganlib/name.py`` on floor 5; add the notebook to ``_toc.yml``.

Importing ganlib has no side effects; the chapter helpers are imported on first use (``gl.toy2d``).
"""
import importlib

from . import cache, checkpoint, config, data, losses, metrics, models, presets, steps, theory, train, util, viz
from .config import Config, describe, device, seed_everything, size
from .presets import preset
from .train import GANStep, History, Run, fit

__all__ = ["cache", "checkpoint", "config", "data", "losses", "metrics", "models", "presets", "steps", "theory",
           "train", "util", "viz", "Config", "describe", "device", "preset", "seed_everything", "size",
           "GANStep", "History", "Run", "fit", "play"]
__version__ = "0.2.0"

# Each module's floor (see the map above); tests/test_layout.py checks every import against it.
FLOORS = {"util": 0, "config": 0, "presets": 1, "data": 1, "models": 1, "losses": 1, "checkpoint": 1, "distributed": 1,
          "train": 2, "theory": 2, "results": 2, "steps": 3, "metrics": 3, "cache": 3, "viz": 3, "player": 4,
          "toy1d": 5, "toy2d": 5, "faces": 5, "conditional": 5, "variants": 5, "__main__": 6}

_LAZY = ("player", "results", "toy1d", "toy2d", "faces", "conditional", "variants")


def play(run, **options):
    """The progress player of ``run``: its fixed-noise snapshots and loss curves (see ganlib.player.play)."""
    from .player import play as _play

    return _play(run, **options)


def __getattr__(name):
    if name in _LAZY:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'ganlib' has no attribute {name!r}")
