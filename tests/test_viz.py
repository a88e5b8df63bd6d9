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
    run = gl.fit(G, D, tiny_data, tiny_cfg, progress=False, device=torch.device("cpu"))
    fig = viz.losses(run.history)
    assert len(fig.axes) == 2
    lines = fig.axes[0].get_lines()
    np.testing.assert_allclose(lines[0].get_ydata(), run.history.loss_d)
    arr = viz.figure_to_array(fig, dpi=50)
    assert arr.ndim == 3 and arr.shape[2] == 3 and arr.dtype == np.uint8
    snapshot = run.history.snapshots[-1]
    assert isinstance(snapshot, np.ndarray) and snapshot.dtype == np.uint8  # snapshots are NumPy frames
    fig2 = viz.real_vs_fake(torch.rand(8, 1, 32, 32) * 2 - 1, snapshot)
    assert [a.get_title() for a in fig2.axes] == ["Real images", "Fake images"]
    np.testing.assert_array_equal(fig2.axes[1].get_images()[0].get_array(), snapshot[:, :, 0])
    fig3 = viz.show(snapshot, title="after training")
    assert fig3.axes[0].get_title() == "after training"
    import matplotlib.pyplot as plt

    plt.close("all")


# ---------------------------------------------------------------- tables of results
def test_table_columns_in_first_seen_order_missing_cells_blank():
    rows = [{"model": "DCGAN", "score": 4.98}, {"model": "MLP", "frechet": 31.0, "score": 3.1}, {"note": "x"}]
    t = viz.table(rows)
    assert list(t.columns) == ["model", "score", "frechet", "note"]
    assert t.shape == (3, 4) and list(t.index) == [0, 1, 2]
    assert t.iloc[0].tolist() == ["DCGAN", 4.98, "", ""]
    assert t.iloc[2].tolist() == ["", "", "", "x"]
    assert viz.table([]).shape == (0, 0)


def test_table_formats_numbers_only():
    rows = [{"model": "DCGAN", "score": 4.9876, "modes": 7, "hq": np.float32(0.5), "ok": True},
            {"model": "MLP", "score": "-", "modes": np.int64(3), "hq": 0.25, "ok": False}]
    t = viz.table(rows, {"score": "{:.2f}", "modes": "{:d} of 8", "hq": "{:.0%}", "ok": "{:.2f}", "absent": "{:.1f}"})
    assert t["score"].tolist() == ["4.99", "-"]           # a string in a formatted column is left as it is
    assert t["modes"].tolist() == ["7 of 8", "3 of 8"]    # NumPy integers are numbers too
    assert t["hq"].tolist() == ["50%", "25%"]
    assert t["ok"].tolist() == [True, False]              # a bool is no number: not formatted
    assert t["model"].tolist() == ["DCGAN", "MLP"]        # no format: unchanged
    assert "absent" not in t.columns
    assert rows[0]["score"] == 4.9876                     # the rows themselves are not changed


def test_table_index_and_text():
    t = viz.table([{"loss": "wgan", "k": 5}, {"loss": "lsgan", "k": 1}], index="loss")
    assert t.index.name == "loss" and list(t.index) == ["wgan", "lsgan"] and list(t.columns) == ["k"]
    assert t.loc["wgan", "k"] == 5
    text = str(t)
    assert "wgan" in text and "lsgan" in text and "k" in text
    html = t._repr_html_()
    assert "<table" in html and "wgan" in html
    with pytest.raises(KeyError):
        viz.table([{"a": 1}], index="b")
