"""Tests of ganlib.player: frames in, the right pictures, labels, loss markers and page weight out.

What the player does in a browser (scrubbing, Play, keyboard, no outside requests) is in test_browser.py.
"""
from __future__ import annotations

import base64
import functools
import html
import io
import json
import re
import types
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

import ganlib as gl
from ganlib import player as P
from ganlib.train import History


def _data(p: P.Player) -> dict:
    """The JSON the player's script carries."""
    m = re.search(r"var D = (\{.*?\});\n", p.html, re.S)
    assert m, "no data block in the player's script"
    return json.loads(m.group(1))


def _decode(uri: str) -> tuple[str, np.ndarray]:
    head, b64 = uri.split(",", 1)
    img = Image.open(io.BytesIO(base64.b64decode(b64)))
    return head, np.asarray(img)


def _history(n: int, seed: int = 0, per_epoch: int = 25) -> History:
    rng = np.random.default_rng(seed)
    h = History()
    for i in range(n):
        h.append(loss_d=1.2 * np.exp(-i / 30) + 0.4 + 0.05 * rng.standard_normal(),
                 loss_g=2.5 - 1.5 * np.exp(-i / 40) + 0.05 * rng.standard_normal(),
                 d_x=0.5, d_g_z1=0.5, d_g_z2=0.5, epoch=i // per_epoch, seconds=0.01)
    return h


def _ramp(k: int, size=(60, 80)) -> np.ndarray:
    y, x = np.mgrid[0:size[0], 0:size[1]]
    return np.stack([(x * 3 + 17 * k) % 256, (y * 4) % 256, np.full_like(x, 30 * k % 256)], -1).astype(np.uint8)


@functools.lru_cache(maxsize=1)
def _photos() -> tuple:
    import skimage.data as d

    return d.coffee(), d.chelsea(), d.rocket(), d.immunohistochemistry(), d.cat()


def _natural_grid(rng: np.random.Generator, n: int = 64, side: int = 64) -> np.ndarray:
    """An 8x8 grid of 64-pixel crops of real photographs (denser detail than GAN samples): (530, 530, 3)."""
    photos = _photos()
    tiles = []
    for _ in range(n):
        ph = photos[rng.integers(len(photos))]
        y, x = rng.integers(0, ph.shape[0] - side), rng.integers(0, ph.shape[1] - side)
        tiles.append(torch.from_numpy(ph[y:y + side, x:x + side].copy()).permute(2, 0, 1))
    return gl.viz.grid(torch.stack(tiles), nrow=8)


def test_frames_come_back_as_given():
    frames = [_ramp(k) for k in range(5)]
    p = P.player(frames, fmt="png")
    data = _data(p)
    assert p.n_frames == 5 and len(data["frames"]) == 5 and p.formats == ["png"] * 5
    for uri, frame in zip(data["frames"], frames):
        head, img = _decode(uri)
        assert head == "data:image/png;base64"
        np.testing.assert_array_equal(img, frame)
    # the last frame is also the <img> shown before (or without) JavaScript
    assert f'src="{data["frames"][-1]}"' in p.html
    assert data["labels"] == [f"frame {i}" for i in range(1, 6)]


def test_jpeg_frames_are_close_and_torch_gray_rgba_accepted():
    photo = np.asarray(Image.fromarray(_natural_grid(np.random.default_rng(1))))
    p = P.player([torch.from_numpy(photo.copy())], fmt="jpeg", quality=90, max_side=720)
    head, img = _decode(_data(p)["frames"][0])
    assert head == "data:image/jpeg;base64" and img.shape == photo.shape
    assert 0.5 < np.abs(img.astype(float) - photo).mean() < 6.0  # lossy, but the same picture

    gray = (np.arange(40 * 50) % 251).astype(np.uint8).reshape(40, 50, 1)
    _, img = _decode(_data(P.player([gray], fmt="png"))["frames"][0])
    np.testing.assert_array_equal(img, gray[:, :, 0])

    rgba = np.zeros((10, 12, 4), np.uint8)
    rgba[:, :6] = (200, 20, 10, 255)   # left half opaque red, right half fully transparent
    _, img = _decode(_data(P.player([rgba], fmt="png"))["frames"][0])
    np.testing.assert_array_equal(img[:, :6], np.broadcast_to([200, 20, 10], (10, 6, 3)))
    np.testing.assert_array_equal(img[:, 6:], np.full((10, 6, 3), 255))  # laid on white


def test_auto_format_keeps_plots_png_and_samples_jpeg():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot(np.linspace(0, 1, 50), np.linspace(0, 1, 50) ** 2)
    plot = gl.viz.figure_to_array(fig)
    photo = _natural_grid(np.random.default_rng(2))
    digits = np.repeat(np.kron(np.eye(8, dtype=np.uint8) * 255, np.ones((16, 16), np.uint8))[:, :, None], 3, 2)
    p = P.player([plot, photo, digits], max_side=720)
    assert p.formats == ["png", "jpeg", "png"]
    # the reasons, recomputed independently: the plot has few colours; the photo's PNG is much bigger
    colours = [len(np.unique(x.reshape(-1, 3), axis=0)) for x in (plot, photo)]
    assert colours[0] <= P.DRAWING_COLOURS < colours[1]
    # a grey picture stored as RGB (a make_grid of 1-channel images) is sent as one channel
    head, img = _decode(_data(p)["frames"][2])
    assert img.shape == digits.shape[:2]
    np.testing.assert_array_equal(img, digits[:, :, 0])


def test_labels_follow_steps_and_epochs():
    h = _history(100, per_epoch=25)
    h.snapshot_steps = [0, 10, 25, 26, 100]
    frames = [_ramp(k) for k in range(5)]
    p = P.player(frames, history=h)  # steps taken from the history
    assert p.labels == ["before training (G update 0)", "G update 10, epoch 1", "G update 25, epoch 1",
                        "G update 26, epoch 2", "G update 100, epoch 4"]
    assert P.player(frames, steps=[0, 1, 2, 3, 4]).labels[1] == "G update 1"
    assert P.player(frames, labels=list("abcde")).labels == list("abcde")
    assert 'aria-valuetext="G update 100, epoch 4"' in p.html


def test_marker_sits_on_the_drawn_curves():
    h = _history(200, seed=3)
    steps = [0, 20, 60, 120, 200]
    p = P.player([_ramp(k) for k in range(5)], steps=steps, history=h, window=1)
    uri = re.search(r'<img src="(data:image/png;base64,[^"]+)" alt="Loss curves', p.html).group(1)
    _, panel = _decode(uri)
    height, width = panel.shape[:2]
    assert (width, height) == P.LOSS_PANEL_PX
    colors = [np.array([int(c[i:i + 2], 16) for i in (1, 3, 5)]) for c in ("#1f77b4", "#ff7f0e")]  # C0, C1
    xs = [m["x"] for m in p.markers]
    assert p.markers[0]["y"] == [None, None] and "before training" in p.markers[0]["text"]
    # x is linear in the G update: equal steps, equal distances (closed form of the axis transform)
    assert (xs[2] - xs[1]) / 40 == pytest.approx((xs[4] - xs[3]) / 80, rel=1e-3)
    for m, s in zip(p.markers[1:], steps[1:]):
        assert f"Loss_D {h.loss_d[s - 1]:.3f}" in m["text"] and f"Loss_G {h.loss_g[s - 1]:.3f}" in m["text"]
        for y, color in zip(m["y"], colors):
            cx, cy = m["x"] / 100 * width, y / 100 * height
            patch = panel[int(cy) - 3:int(cy) + 4, int(cx) - 3:int(cx) + 4, :3].reshape(-1, 3).astype(float)
            closest = np.abs(patch - color).sum(axis=1).min()
            assert closest < 40, f"no {color} pixel of the curve near the marker at step {s}"
    # and somewhere far from the marker there is none of that colour at that height (the check can fail)
    m = p.markers[2]
    far = panel[int(m["y"][0] / 100 * height), int((m["x"] / 100 + 0.3) * width), :3].astype(float)
    assert np.abs(far - colors[0]).sum() > 40


def test_dict_history_and_steps_default():
    curves = {"critic": np.linspace(1, 0, 50), "generator": np.linspace(0, 1, 50)}
    p = P.player([_ramp(0), _ramp(1)], steps=[10, 50], history=curves)
    assert [m["text"] for m in p.markers] == ["G update 10: critic 0.816, generator 0.184",
                                              "G update 50: critic 0.000, generator 1.000"]
    # without steps the frames are spread evenly over the history
    q = P.player([_ramp(0), _ramp(1), _ramp(2)], history=curves)
    assert [m["text"].split(":")[0] for m in q.markers] == ["before training", "G update 25", "G update 50"]


def test_page_weight_of_20_frames_of_an_8x8_grid_of_64px_images():
    rng = np.random.default_rng(0)
    frames = [_natural_grid(rng) for _ in range(20)]
    assert frames[0].shape == (530, 530, 3)
    h = _history(2000)
    p = P.player(frames, steps=list(range(0, 2000, 100)), history=h, max_side=720)
    assert p.formats == ["jpeg"] * 20
    assert p.nbytes <= 3_000_000, f"{p.nbytes / 1e6:.2f} MB"
    # PNG frames of the same grids would not have fitted
    assert P.player(frames[:1], fmt="png", max_side=720).nbytes * 20 > 3_000_000


def test_quick_size_keeps_frames_small(monkeypatch):
    frame = _natural_grid(np.random.default_rng(4))
    monkeypatch.setenv("GANLIB_SIZE", "quick")
    _, img = _decode(_data(P.player([frame]))["frames"][0])
    assert max(img.shape[:2]) == P.MAX_SIDE["quick"]
    monkeypatch.setenv("GANLIB_SIZE", "book")
    _, img = _decode(_data(P.player([frame]))["frames"][0])
    assert img.shape[:2] == (530, 530)
    # a wide multi-panel figure keeps its width while its area fits; a bigger one keeps its aspect
    wide = np.zeros((300, 1500, 3), np.uint8)
    assert _decode(_data(P.player([wide]))["frames"][0])[1].shape[:2] == (300, 1500)
    _, img = _decode(_data(P.player([np.zeros((1000, 2000, 3), np.uint8)]))["frames"][0])
    assert img.shape[0] * img.shape[1] <= 720 ** 2 and img.shape[1] / img.shape[0] == pytest.approx(2, rel=0.01)


def test_clear_errors():
    with pytest.raises(ValueError, match="No frames"):
        P.player([])
    with pytest.raises(TypeError, match="uint8"):
        P.player([np.zeros((8, 8, 3), np.float32)])
    with pytest.raises(ValueError, match="gl.viz.grid"):
        P.player([np.zeros((2, 3, 8, 8), np.uint8)])
    with pytest.raises(ValueError, match="3 steps for 2 frames"):
        P.player([_ramp(0), _ramp(1)], steps=[0, 1, 2])
    with pytest.raises(ValueError, match="1 labels for 2 frames"):
        P.player([_ramp(0), _ramp(1)], labels=["a"])
    with pytest.raises(ValueError, match="same run"):
        P.player([_ramp(0)], steps=[500], history=_history(100))
    with pytest.raises(ValueError, match="fmt"):
        P.player([_ramp(0)], fmt="gif")
    with pytest.raises(TypeError, match="History"):
        P.player([_ramp(0)], history=[1, 2, 3])


def test_play_shows_a_runs_snapshots_beside_its_losses(tmp_path):
    h = _history(60)
    h.snapshot_steps = [0, 30, 60]
    frames = [torch.from_numpy(_ramp(k)) for k in range(3)]
    h.snapshots = [f.numpy() for f in frames]
    run = types.SimpleNamespace(history=h, cfg=gl.Config(name="dcgan-test", size="book"))  # what play reads
    p = gl.play(run, interval_ms=250, title="Fixed noise <test>")
    assert isinstance(p, P.Player) and p.labels == P.player(frames, history=h).labels
    assert p.labels == ["before training (G update 0)", "G update 30, epoch 2", "G update 60, epoch 3"]
    assert '<p class="glp-title">dcgan-test</p>' in gl.play(run).html  # the run's name is the default title
    assert _data(p)["interval"] == 250 and "Fixed noise &lt;test&gt;" in p.html
    assert p._repr_html_() == p.html and "3 frames" in repr(p)
    page = tmp_path / "p.html"
    p.save(page)
    assert p.html in page.read_text() and page.read_text().startswith("<!DOCTYPE html>")
    # JupyterLab / Notebook 7 leave the arrow keys to the player's controls (checked there by hand)
    assert p.html.count('data-lm-suppress-shortcuts="true"') == 5  # the group, 3 buttons, the slider
    # two players on one page do not share an id
    assert _data(p)["id"] != _data(P.player(frames))["id"]


# ---------------------------------------------------------------- nothing lost and nothing silent
def test_text_that_looks_like_markup_is_escaped_in_the_script_and_in_the_html():
    nasty = ["<!--<script>", "a </script> b", "G & D > 0 \u2028 next line", 'quote " and \' and </SCRIPT >']
    title = "</script><script>alert(1)</script>"
    curves = {"<b>Loss_D</b>": np.linspace(1, 0, 40), "Loss_G & co": np.linspace(0, 1, 40)}
    p = P.player([_ramp(k) for k in range(4)], steps=[0, 10, 20, 40], labels=nasty, history=curves, title=title)
    page = p.html
    # exactly one script element, opened and closed once, and nothing in it the HTML parser reads as markup
    assert page.lower().count("<script") == 1 and page.lower().count("</script") == 1
    script = page[page.index("<script>") + len("<script>"):page.index("</script>")]
    block = re.search(r"var D = (\{.*?\});\n", script, re.S).group(1)  # all the texts the script carries
    assert not {"<", ">", "&", "\u2028"} & set(block)
    assert "<!--" not in page
    # the texts come back exactly: from the script's JSON ...
    data = _data(p)
    assert data["labels"] == nasty and p.labels == nasty
    assert [m["text"].split(":")[0] for m in data["markers"]] == ["before training", "G update 10",
                                                                  "G update 20", "G update 40"]
    assert data["markers"][2]["text"] == "G update 20: <b>Loss_D</b> 0.513, Loss_G & co 0.487"
    # ... and from the HTML, where they are escaped
    label = re.search(r'<output class="glp-label"[^>]*>(.*?)</output>', page, re.S).group(1)
    assert "<" not in label and html.unescape(label) == nasty[-1]
    heading = re.search(r'<p class="glp-title">(.*?)</p>', page, re.S).group(1)
    assert html.unescape(heading) == title and "<" not in heading
    assert "&lt;b&gt;Loss_D&lt;/b&gt;" in page  # curve names in the panel's alt text and dots
    # the escaping is only for the page: plain labels are untouched
    assert _data(P.player([_ramp(0)], labels=["G update 5"]))["labels"] == ["G update 5"]


def test_many_frames_are_thinned_evenly_and_loudly():
    n = 300
    frames = [np.full((8, 8), k % 256, np.uint8) for k in range(n)]
    h = _history(n - 1)
    steps = list(range(n))
    with pytest.warns(UserWarning, match=rf"kept {P.MAX_FRAMES} of 300 frames"):
        p = P.player(frames, steps=steps, history=h, fmt="png")
    assert p.n_frames == P.MAX_FRAMES == len(_data(p)["frames"]) and p.n_given == n
    assert p.kept[0] == 0 and p.kept[-1] == n - 1 and sorted(set(p.kept)) == p.kept
    assert set(np.diff(p.kept)) <= {2, 3}  # evenly spread: (300 - 1) / (120 - 1) = 2.5 apart
    assert p.labels[0] == "before training (G update 0)" and p.labels[-1] == f"G update {n - 1}, epoch 12"
    assert [m["text"].split(":")[0] for m in p.markers][1:] == [f"G update {k}" for k in p.kept[1:]]
    for j in (0, 1, -1):  # the frames shown are the frames at those indices
        np.testing.assert_array_equal(_decode(_data(p)["frames"][j])[1], frames[p.kept[j]])
    assert f"Showing {P.MAX_FRAMES} of 300 frames" in p.html and "thinned from 300" in repr(p)
    # labels given by the caller are thinned with their frames
    with pytest.warns(UserWarning):
        q = P.player(frames, labels=[f"L{i}" for i in range(n)], fmt="png")
    assert q.labels == [f"L{i}" for i in q.kept]
    # up to the limit, and with max_frames=None, every frame stays, without a word
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        full = P.player(frames[:P.MAX_FRAMES], fmt="png")
        every = P.player(frames, fmt="png", max_frames=None)
    assert full.n_frames == P.MAX_FRAMES and "Showing" not in full.html and "thinned" not in repr(full)
    assert every.n_frames == n and every.kept == list(range(n)) and every.nbytes > 2 * q.nbytes  # the weight
    with pytest.raises(ValueError, match="max_frames=1"):
        P.player(frames, max_frames=1)


def test_inf_in_the_history_is_a_gap_like_nan():
    h = _history(100)
    h.loss_d[40] = float("inf")     # G updates 41 and 42: D's loss overflowed (values[s - 1] is update s)
    h.loss_d[41] = float("-inf")
    h.loss_g[60] = float("nan")     # G update 61
    steps = [0, 42, 61, 80, 100]
    p = P.player([_ramp(k) for k in range(5)], steps=steps, history=h, window=5)
    d_y = [m["y"][0] for m in p.markers]
    g_y = [m["y"][1] for m in p.markers]
    assert d_y[1] is None and "Loss_D -inf (not drawn)" in p.markers[1]["text"]  # the gap, named
    assert g_y[2] is None and "Loss_G nan (not drawn)" in p.markers[2]["text"]
    # the curves go on after their gaps, inside the panel
    assert all(y is not None and 0 < y < 100 for y in d_y[2:] + g_y[1:2] + g_y[3:])
    assert f"Loss_D {np.mean(h.loss_d[75:80]):.3f}" in p.markers[3]["text"]  # running mean of 5, finite
    # the smoothing leaves finite curves as they were
    values = np.asarray(h.loss_g[:50])
    np.testing.assert_allclose(P.smooth_gaps(values, 7), gl.viz.smooth(values, 7))
