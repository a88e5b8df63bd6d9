"""Every preset at FULL size (the sources' settings, meant for a Colab GPU) builds and trains.

CI runs the notebooks at quick size only, so nothing else would notice a full-size configuration that
cannot even start (a layer count that does not fit the image size, an arch that `models.build` does not
know, a loss or optimiser name that is not there). Here every preset is built at full size with its real
networks -- image size, channels, widths and nz as the source has them -- and trained for two G updates on
the CPU on synthetic data of the right shape. Only the batch is shrunk, to keep this fast.
"""
import importlib
import math
import pkgutil

import numpy as np
import pytest
import torch

import ganlib as gl

# Chapter modules may register presets of their own when imported: import them all first.
for _module in pkgutil.iter_modules(gl.__path__):
    importlib.import_module(f"ganlib.{_module.name}")

PRESETS = getattr(getattr(gl, "presets", None), "PRESETS", None) or gl.config.PRESETS
IMAGE_ARCHS = ("dcgan", "project", "mlp", "smallconv")
POINT_DIMS = {"mlp1d": 1, "toy2d": 2}  # toy archs: the dimension of a sample
BATCH = 4  # full-size DCGANs at 64 px with ngf 128 are heavy on a CPU; the batch is all that is shrunk


def _data(cfg, n: int):
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(max(cfg.n_classes, 1), (n,), generator=g)
    if cfg.arch in IMAGE_ARCHS:
        images = torch.randint(0, 256, (n, cfg.nc, cfg.image_size, cfg.image_size), generator=g, dtype=torch.uint8)
        return gl.data.ImageData(images, labels, "random test images")
    return gl.data.TensorData(torch.randn(n, POINT_DIMS[cfg.arch], generator=g),
                              labels if cfg.n_classes else None, "random test points")


def _point_frame(run):
    """The snapshot for toy runs (the default one draws an image grid): G's samples have the point shape."""
    with torch.no_grad():
        fake = run.G(run.fixed_noise, run.fixed_labels)
    assert fake.shape == (len(run.fixed_noise), POINT_DIMS[run.cfg.arch])
    return np.zeros((1, 1, 3), np.uint8)


def test_there_are_presets_of_every_kind():
    archs = {gl.preset(name, size="full").arch for name in PRESETS}
    assert {"dcgan", "toy2d", "mlp1d"} <= archs, archs


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_trains_at_full_size(name):
    full = gl.preset(name, size="full")
    cfg = full.replace(batch_size=BATCH, n_fixed=BATCH, max_steps=2)
    assert cfg.arch in IMAGE_ARCHS or cfg.arch in POINT_DIMS, f"{name}: arch {cfg.arch!r} is not covered here"
    G, D = gl.models.build(cfg)
    data = _data(cfg, 4 * BATCH * cfg.k)  # two G updates take 2k batches
    snapshot = None if cfg.arch in IMAGE_ARCHS else _point_frame
    run = gl.fit(G, D, data, cfg, snapshot=snapshot, progress=False, device=torch.device("cpu"))

    history = run.history
    assert len(history) == 2, f"{name}: {len(history)} G updates, expected 2"
    for value in list(history.loss_d) + list(history.loss_g):
        assert math.isfinite(value), f"{name}: loss {value}"
    z = torch.randn(BATCH, cfg.nz)
    y = torch.arange(BATCH) % cfg.n_classes if cfg.n_classes else None
    with torch.no_grad():
        fake = run.G.eval()(z, y)
        score = run.D.eval()(fake, y)
    if cfg.arch in IMAGE_ARCHS:
        assert fake.shape == (BATCH, full.nc, full.image_size, full.image_size), f"{name}: G(z) {tuple(fake.shape)}"
    else:
        assert fake.shape == (BATCH, POINT_DIMS[cfg.arch]), f"{name}: G(z) {tuple(fake.shape)}"
    assert score.shape[0] == BATCH // getattr(cfg, "pack", 1) and torch.isfinite(score).all()
