"""Tests for the conditional GAN: the two-branch models of source 001 (section 12.5) and ganlib.conditional."""
import math

import numpy as np
import pytest
import torch

import ganlib as gl
from ganlib import conditional as C
from ganlib import metrics as Mx
from ganlib import models as M


# ---------------------------------------------------------------- the models
def _source_param_count(ngf: int, ndf: int, nz: int = 100, n_classes: int = 10, nc: int = 1):
    """Parameters of source 001's cGAN layers, counted layer by layer from its listing (biases on)."""
    def convt(c_in, c_out):  # 4x4 kernel, with bias
        return c_in * c_out * 16 + c_out

    def bn(c):
        return 2 * c

    g = (convt(nz, 2 * ngf) + bn(2 * ngf) + convt(n_classes, 2 * ngf) + bn(2 * ngf)     # deconv1_1, deconv1_2
         + convt(4 * ngf, 2 * ngf) + bn(2 * ngf) + convt(2 * ngf, ngf) + bn(ngf)          # deconv2, deconv3
         + convt(ngf, nc))                                                                # deconv4
    d = (convt(nc, ndf // 2) + convt(n_classes, ndf // 2)                                 # conv1_1, conv1_2
         + convt(ndf, 2 * ndf) + bn(2 * ndf) + convt(2 * ndf, 4 * ndf) + bn(4 * ndf)      # conv2, conv3
         + convt(4 * ndf, 1))                                                             # conv4
    return g, d


def test_full_preset_is_the_source_network():
    cfg = gl.preset("cgan-mnist", size="full")
    assert (cfg.ngf, cfg.ndf, cfg.batch_size, cfg.num_epochs, cfg.image_size, cfg.n_classes) == (128, 128, 128, 20, 32, 10)
    G, D = M.build(cfg)
    g, d = _source_param_count(cfg.ngf, cfg.ndf)
    assert (M.n_params(G), M.n_params(D)) == (g, d)


def test_every_size_builds_and_shapes_are_right():
    for size in ("quick", "book"):
        cfg = gl.preset("cgan-mnist", size=size)
        G, D = M.build(cfg)
        z, y = torch.randn(6, cfg.nz), torch.tensor([0, 1, 2, 7, 8, 9])
        x = G(z, y)
        assert x.shape == (6, 1, 32, 32) and x.abs().max() <= 1
        assert D(x, y).shape == (6,)
        assert cfg.n_fixed == 100  # the 10x10 grid


def test_changing_y_with_z_fixed_changes_g_and_d():
    cfg = gl.preset("cgan-mnist", size="quick")
    G, D = M.build(cfg)
    G.eval(), D.eval()
    z = torch.randn(1, cfg.nz).repeat(10, 1)
    x = G(z, torch.arange(10))
    # every pair of classes gives a different image from the same z
    diffs = (x[:, None] - x[None, :]).flatten(2).abs().amax(2)
    off_diagonal = diffs[~torch.eye(10, dtype=torch.bool)]
    assert (off_diagonal > 1e-2 * x.abs().max()).all()   # well above rounding, relative to the output's scale
    # and D scores the same image differently under different labels
    scores = D(x[:1].repeat(10, 1, 1, 1), torch.arange(10))
    assert scores.unique().numel() == 10


def test_label_branch_of_g_is_a_lookup_table():
    """A transposed conv on a one-hot 10x1x1 input picks the kernel slice of that class: an embedding."""
    G = M.DCGANGenerator(nz=8, ngf=4, nc=1, image_size=32, n_classes=10, bias=True)
    conv = G.y_branch[0]
    y = torch.tensor([3, 0, 9])
    out = conv(M.one_hot(y, 10))                                   # (3, 2ngf, 4, 4)
    expected = conv.weight[y] + conv.bias[None, :, None, None]     # weight: (10, 2ngf, 4, 4)
    torch.testing.assert_close(out, expected)


def test_label_branch_of_d_sees_only_its_plane():
    """On a label map, D's label conv is the sum of class y's kernel over the window (zero padding at borders)."""
    D = M.DCGANDiscriminator(ndf=4, nc=1, image_size=32, n_classes=10, bias=False)
    conv = D.y_branch[0]
    y = torch.tensor([4])
    out = conv(M.label_maps(y, 10, 32))                             # (1, ndf/2, 16, 16)
    kernel = conv.weight[:, 4]                                      # (ndf/2, 4, 4): the taps on plane 4
    torch.testing.assert_close(out[0, :, 5, 5], kernel.sum((1, 2)))          # inside: all 16 taps on ones
    torch.testing.assert_close(out[0, :, 0, 0], kernel[:, 1:, 1:].sum((1, 2)))  # corner: a row, a column on padding


def test_fixed_grid_is_ten_by_ten_with_rows_as_classes(tiny_data):
    cfg = gl.preset("cgan-mnist", size="quick", n_train=96, batch_size=16, max_steps=4, snapshot_every=2)
    run = gl.fit(*M.build(cfg), tiny_data, cfg, progress=False)
    assert run.fixed_labels.tolist() == [i for i in range(10) for _ in range(10)]
    z = run.fixed_noise.view(10, 10, cfg.nz)
    torch.testing.assert_close(z, z[:1].expand(10, -1, -1))        # column j: the same z in every row
    assert len(set(map(tuple, run.fixed_noise[:10].tolist()))) == 10
    # snapshots every snapshot_every G updates (source 001's counter advanced only inside its snapshot branch)
    assert run.history.snapshot_steps == [0, 2, 4]
    assert run.history.snapshots[-1].shape == (2 + 10 * 34, 2 + 10 * 34, 1)


# ---------------------------------------------------------------- measuring
# Class accuracy, the confusion matrix and the per-class Frechet distance live in ganlib.metrics now: their
# tests are in tests/test_metrics.py. The stand-in classifier (pixel_classifier, images_of) is in conftest.py.
def test_class_scores_runs_on_a_conditional_generator(pixel_classifier, images_of):
    cfg = gl.preset("cgan-mnist", size="quick")
    G, _ = M.build(cfg)
    labels = C.class_labels(12)
    real = gl.data.ImageData(gl.data.to_uint8(images_of(labels, 0.1)), labels)
    out = C.class_scores(G, cfg.nz, real, n_per_class=8, classifier=pixel_classifier)
    assert out["images"].shape == (80, 1, 32, 32)
    assert out["asked"].tolist() == C.class_labels(8).tolist()
    assert out["accuracy"].confusion.sum() == 80 and out["frechet"].shape == (10,)


def test_plots_return_figures():
    import matplotlib.pyplot as plt

    acc = Mx.accuracy_from_confusion(torch.diag(torch.arange(1, 11)) + 1)
    for fig in (C.plot_confusion(acc.confusion), C.plot_per_class(acc, torch.rand(10), torch.rand(10), target=0.9),
                C.plot_per_class(acc), C.encoding_figure(3)):
        assert isinstance(fig, plt.Figure)
        plt.close(fig)
    with pytest.raises(ValueError, match="not a class"):
        C.encoding_figure(10)


# ---------------------------------------------------------------- walking through z
def test_slerp_closed_forms():
    a, b = torch.zeros(4), torch.zeros(4)
    a[0], b[1] = 1.0, 1.0
    path = C.slerp(a, b, torch.tensor([0.0, 0.5, 1.0]))
    torch.testing.assert_close(path[0], a)
    torch.testing.assert_close(path[1], (a + b) / math.sqrt(2))
    torch.testing.assert_close(path[2], b)
    # equal lengths stay equal along the path, and the angle grows linearly
    g = torch.Generator().manual_seed(0)
    u, v = torch.randn(100, generator=g, dtype=torch.float64), torch.randn(100, generator=g, dtype=torch.float64)
    v = v / v.norm() * u.norm()
    ts = torch.linspace(0, 1, 7)
    p = C.slerp(u, v, ts)
    torch.testing.assert_close(p.norm(dim=1), u.norm().expand(7))
    angle = torch.arccos((p @ u) / (p.norm(dim=1) * u.norm()))
    total = torch.arccos(u @ v / (u.norm() * v.norm()))
    torch.testing.assert_close(angle, ts.double() * total, atol=1e-6, rtol=0)
    # lengths blend linearly when they differ
    q = C.slerp(u, 3 * v, torch.tensor([0.5]))
    assert q.norm().item() == pytest.approx(2 * u.norm().item(), rel=1e-5)


def test_interpolation_frames_start_at_z_a_and_hold_the_class(pixel_classifier):
    cfg = gl.preset("cgan-mnist", size="quick")
    G, _ = M.build(cfg)
    frames, captions = C.interpolation_frames(G, cfg.nz, n_frames=5, digits=[2, 5, 7], seeds=(3, 4),
                                              classifier=pixel_classifier, nrow=3, scale=2)
    assert len(frames) == len(captions) == 5
    assert frames[0].dtype == np.uint8 and frames[0].shape == (2 * 36, 2 * (2 + 3 * 34), 3)
    G.eval()
    z_a = torch.randn(cfg.nz, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        first = G(z_a.repeat(3, 1), torch.tensor([2, 5, 7]))
    expected = gl.viz.grid(first, nrow=3)
    np.testing.assert_array_equal(frames[0][::2, ::2], expected)
    assert captions[0].startswith("t = 0.00") and "as asked" in captions[0] and captions[-1].startswith("t = 1.00")


def test_explorer_builds_a_widget():
    import ipywidgets as W

    cfg = gl.preset("cgan-mnist", size="quick")
    G, _ = M.build(cfg)
    box = C.explorer(G, cfg.nz)
    assert isinstance(box, W.HBox)
    image = box.children[1]
    before = image.value
    box.children[0].children[0].value = 4   # choose another digit: G is called again
    assert image.value != before and len(image.value) > 0


# ---------------------------------------------------------------- the matching-aware D and mode seeking
# They are loss terms now (ganlib.losses.matching_aware / mode_seeking, with the label helpers wrong_labels and
# pair_labels) that GANStep adds when cfg.matching_d / cfg.mode_seeking say so: tests/test_losses.py checks the
# terms by hand, tests/test_train.py checks them through fit.
def test_the_book_preset_switches_both_additions_on():
    for size in ("quick", "book", "full"):
        cfg = gl.preset("cgan-mnist", size=size)
        assert cfg.matching_d is True and cfg.mode_seeking == 1.0


# ---------------------------------------------------------------- the chapter's targets
def test_check_class_accuracy_asserts_only_the_targets_set_at_this_size():
    assert gl.preset("cgan-mnist", size="quick").chapter.min_accuracy is None        # quick: code path only
    book = gl.preset("cgan-mnist", size="book").chapter
    assert (book.min_accuracy, book.min_class_accuracy) == (0.95, 0.85)
    good = Mx.accuracy_from_confusion(torch.diag(torch.full((10,), 100)) + torch.eye(10, dtype=torch.long).roll(1, 0))
    assert [r["met"] for r in C.check_class_accuracy(good, book)] == ["yes", "yes"]
    assert {r["met"] for r in C.check_class_accuracy(good, gl.config.Conditional())} == {"not checked at this size"}
    confusion = torch.diag(torch.full((10,), 100))
    confusion[3, 3], confusion[3, 5] = 80, 20                # class 3 read right 0.8 of the time, overall 0.98
    weak = Mx.accuracy_from_confusion(confusion)
    with pytest.raises(AssertionError, match=r"worst class \(3\) = 0\.8, the target is >= 0\.85"):
        C.check_class_accuracy(weak, book)
    C.check_class_accuracy(weak, gl.config.Conditional(min_accuracy=0.95))  # the overall target alone is met
    with pytest.raises(AssertionError, match=r"class accuracy = 0\.98, the target is >= 0\.99"):
        C.check_class_accuracy(weak, gl.config.Conditional(min_accuracy=0.99))


# ---------------------------------------------------------------- the matching-aware D moves the optimum
def test_matching_aware_sweep_matches_the_theory_and_the_bias_shrinks_with_separation():
    import matplotlib.pyplot as plt

    sweep = C.matching_aware_sweep(others=(3.0, 5.0), mus=np.linspace(-0.5, 0.5, 5))
    # the plain conditional game: -log 4 + 2 JSD(N(0,1), N(mu,1)), smallest (= -log 4) at mu = 0
    assert sweep["plain"][2] == pytest.approx(-math.log(4), abs=1e-9)
    assert sweep["plain"][1] == pytest.approx(-math.log(4) + 2 * gl.theory.jsd(gl.theory.normal(0, 1),
                                                                                gl.theory.normal(-0.25, 1)), abs=1e-9)
    # the matching-aware game with the other class at 3: C(0) = -1.0686, slope 0.0657, minimiser -0.2070
    assert sweep["aware"][3.0][2] == pytest.approx(-1.06862, abs=1e-5)
    assert sweep["gradient"][3.0] == pytest.approx(0.06574, abs=1e-5)
    assert sweep["minimiser"][3.0] == pytest.approx(-0.2070, abs=1e-3)
    assert -0.2070 < sweep["minimiser"][5.0] < 0 and abs(sweep["minimiser"][5.0]) < abs(sweep["minimiser"][3.0]) / 5
    assert 0 < sweep["gradient"][5.0] < sweep["gradient"][3.0]
    fig = C.plot_matching_aware(sweep)
    assert isinstance(fig, plt.Figure)
    plt.close(fig)


def test_mode_seeking_moves_the_optimum_by_about_its_weight():
    s = C.mode_seeking_optimum(weights=(0.0, 0.01, 0.1))
    assert s[0.0] == pytest.approx(1.0, abs=1e-5)                   # the plain game: p_g = p_data
    assert s[0.01] == pytest.approx(1.01, abs=1e-3) and s[0.1] == pytest.approx(1.097, abs=2e-3)  # s* ~ 1 + weight
    assert C.mode_seeking_optimum(weights=(0.1,), std=2.0)[0.1] > 2.0
