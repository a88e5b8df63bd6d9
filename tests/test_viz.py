import matplotlib

matplotlib.use("Agg")
import numpy as np
import pytest
import torch

import ganlib as gl
from ganlib import viz


def test_grid_shape_and_range():
    images = torch.linspace(-1, 1, 4 * 3 * 8 * 8).view(4, 3, 8, 8)
    g = viz.grid(images, nrow=2, padding=2)
    assert g.shape == (2 + 2 * 10, 2 + 2 * 10, 3) and g.dtype == np.uint8
    assert g[2, 2, 0] == 0 and g[0, 0, 0] == 255  # first pixel is -1 -> 0; padding is white


def test_smooth_is_a_running_mean():
    v = [1.0, 3.0, 5.0, 7.0]
    np.testing.assert_allclose(viz.smooth(v, 2), [1.0, 2.0, 4.0, 6.0])
    np.testing.assert_allclose(viz.smooth(v, 1), v)


def test_losses_figure_and_figure_to_array(tiny_cfg, tiny_data):
    G, D = gl.models.build(tiny_cfg)
    run = gl.fit(G, D, tiny_data, tiny_cfg, progress=False)
    fig = viz.losses(run.history)
    assert len(fig.axes) == 2
    lines = fig.axes[0].get_lines()
    np.testing.assert_allclose(lines[0].get_ydata(), run.history.loss_d)
    arr = viz.figure_to_array(fig, dpi=50)
    assert arr.ndim == 3 and arr.shape[2] == 3 and arr.dtype == np.uint8
    fig2 = viz.real_vs_fake(torch.rand(8, 1, 32, 32) * 2 - 1, run.history.snapshots[-1])
    assert [a.get_title() for a in fig2.axes] == ["Real images", "Fake images"]
