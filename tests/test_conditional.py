"""Tests for the conditional GAN: the two-branch models of source 001 (section 12.5) and ganlib.conditional."""
import math

import numpy as np
import pytest
import torch
from torch import nn

import ganlib as gl
from ganlib import conditional as C
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
class PixelClassifier(nn.Module):
    """A stand-in classifier: reads the class from the mean brightness; features are 3 pixel statistics."""

    def features(self, x):
        return torch.stack([x.mean((1, 2, 3)), x.std((1, 2, 3)), x[:, 0, 0, 0]], 1)

    def forward(self, x):
        level = ((x.mean((1, 2, 3)) + 1) / 2 * 10).floor().clamp(0, 9).long()
        return torch.nn.functional.one_hot(level, 10).float() * 20


def _images_of(classes, noise=0.02, seed=0):
    """Images whose mean brightness encodes the class: the value (c + 0.5)/10 mapped to [-1, 1], plus noise."""
    g = torch.Generator().manual_seed(seed)
    level = (classes.float() + 0.5) / 10 * 2 - 1
    return (level[:, None, None, None] + noise * torch.randn(len(classes), 1, 32, 32, generator=g)).clamp(-1, 1)


def test_confusion_matrix_counts_pairs():
    asked = torch.tensor([0, 0, 1, 2, 2, 2])
    read = torch.tensor([0, 1, 1, 2, 0, 2])
    cm = C.confusion_matrix(asked, read, 3)
    expected = torch.zeros(3, 3, dtype=torch.long)
    for a, r in zip(asked.tolist(), read.tolist()):
        expected[a, r] += 1
    assert torch.equal(cm, expected)
    acc = C.accuracy_from_confusion(cm)
    assert acc.overall == pytest.approx(4 / 6)
    torch.testing.assert_close(acc.per_class, torch.tensor([0.5, 1.0, 2 / 3], dtype=torch.float64))
    assert acc.worst == (0, 0.5)
    with pytest.raises(ValueError, match="every class"):
        C.accuracy_from_confusion(torch.tensor([[1, 0], [0, 0]]))


def test_class_accuracy_catches_a_generator_that_ignores_y():
    clf = PixelClassifier()
    asked = C.class_labels(20)
    good = C.class_accuracy(clf, _images_of(asked), asked)
    assert good.overall == pytest.approx(1.0)
    assert torch.equal(good.confusion, torch.diag(torch.full((10,), 20)))
    # PyTorch-GAN#41: the same digit (a 7) whatever is asked for
    collapsed = C.class_accuracy(clf, _images_of(torch.full_like(asked, 7)), asked)
    assert collapsed.overall == pytest.approx(0.1)
    assert collapsed.confusion[:, 7].tolist() == [20] * 10 and collapsed.worst[1] == 0.0


def test_per_class_frechet_matches_the_frechet_distance_of_each_class():
    clf = PixelClassifier()
    real_labels = C.class_labels(30)
    real = gl.data.ImageData(gl.data.to_uint8(_images_of(real_labels, 0.1, seed=1)), real_labels)
    asked = C.class_labels(25)
    fake = _images_of(asked, 0.1, seed=2)
    fd = C.per_class_frechet(clf, fake, asked, real)
    for c in (0, 4, 9):
        expected = gl.metrics.frechet_distance(gl.metrics.features(clf, real.images[real.labels == c]),
                                               gl.metrics.features(clf, fake[asked == c]))
        assert fd[c].item() == pytest.approx(expected, rel=1e-9)
    # a generator that draws the wrong class is far from the real digits of the asked class
    shifted = C.per_class_frechet(clf, _images_of((asked + 5) % 10, 0.1, seed=2), asked, real)
    assert (shifted > 10 * fd.max()).all()
    with pytest.raises(ValueError, match="labelled"):
        C.per_class_frechet(clf, fake, asked, gl.data.ImageData(real.images))


def test_real_frechet_floor_is_small_for_the_same_distribution():
    clf = PixelClassifier()
    labels = C.class_labels(40)
    a = gl.data.ImageData(gl.data.to_uint8(_images_of(labels, 0.1, seed=3)), labels)
    b = gl.data.ImageData(gl.data.to_uint8(_images_of(labels, 0.1, seed=4)), labels)
    c = gl.data.ImageData(gl.data.to_uint8(_images_of((labels + 1) % 10, 0.1, seed=4)), labels)
    same, other = C.real_frechet_floor(clf, a, b), C.real_frechet_floor(clf, a, c)
    assert same.shape == (10,) and (same < 0.01).all() and (other > 0.02).all()


def test_evaluate_runs_on_a_conditional_generator():
    cfg = gl.preset("cgan-mnist", size="quick")
    G, _ = M.build(cfg)
    labels = C.class_labels(12)
    real = gl.data.ImageData(gl.data.to_uint8(_images_of(labels, 0.1)), labels)
    out = C.evaluate(G, cfg.nz, real, n_per_class=8, classifier=PixelClassifier())
    assert out["images"].shape == (80, 1, 32, 32)
    assert out["asked"].tolist() == C.class_labels(8).tolist()
    assert out["accuracy"].confusion.sum() == 80 and out["frechet"].shape == (10,)


def test_plots_return_figures():
    import matplotlib.pyplot as plt

    acc = C.accuracy_from_confusion(torch.diag(torch.arange(1, 11)) + 1)
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


def test_interpolation_frames_start_at_z_a_and_hold_the_class():
    cfg = gl.preset("cgan-mnist", size="quick")
    G, _ = M.build(cfg)
    frames, captions = C.interpolation_frames(G, cfg.nz, n_frames=5, digits=[2, 5, 7], seeds=(3, 4),
                                              classifier=PixelClassifier(), nrow=3, scale=2)
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


# ---------------------------------------------------------------- the matching-aware D step
def test_wrong_labels_are_never_right_and_cover_the_other_classes():
    y = torch.arange(10).repeat(200)
    wrong = C.wrong_labels(y, 10, torch.Generator().manual_seed(0))
    assert (wrong != y).all() and wrong.min() >= 0 and wrong.max() <= 9
    for c in range(10):  # each class's wrong labels spread over all nine others
        assert set(wrong[y == c].tolist()) == set(range(10)) - {c}


def test_matching_d_step_loss_and_update():
    import torch.nn.functional as F

    cfg = gl.preset("cgan-mnist", size="quick")
    G, D = M.build(cfg)
    opt_d = torch.optim.SGD(D.parameters(), lr=0.1)
    g = torch.Generator().manual_seed(1)
    real = torch.rand(8, 1, 32, 32, generator=g) * 2 - 1
    z, y, y_fake = torch.randn(8, cfg.nz, generator=g), torch.arange(8) % 10, (torch.arange(8) + 3) % 10
    # the expected loss, computed independently before the step (same wrong labels: same generator seed)
    with torch.no_grad():
        wrong = C.wrong_labels(y, 10, torch.Generator().manual_seed(7))
        r, f, m = D(real, y), D(G(z, y_fake), y_fake), D(real, wrong)
        bce = F.binary_cross_entropy_with_logits
        expected = (bce(r, torch.ones(8)) + 0.5 * bce(f, torch.zeros(8)) + 0.5 * bce(m, torch.zeros(8))).item()
    g_before = [p.clone() for p in G.parameters()]
    d_before = [p.clone() for p in D.parameters()]
    stats = C.matching_d_step(G, D, opt_d, real, z, gl.losses.get("non-saturating"), 1.0, y, y_fake,
                              torch.Generator().manual_seed(7))
    assert stats["loss_d"] == pytest.approx(expected, rel=1e-5)
    assert stats["d_x"] == pytest.approx(torch.sigmoid(r).mean().item(), rel=1e-5)
    assert all(torch.equal(a, b) for a, b in zip(g_before, G.parameters()))       # G untouched
    assert any(not torch.equal(a, b) for a, b in zip(d_before, D.parameters()))   # D stepped
    with pytest.raises(ValueError, match="conditional"):
        C.matching_d_step(G, D, opt_d, real, z, gl.losses.get("non-saturating"))


def test_pair_labels_pairs_samples_with_the_same_label():
    y = torch.tensor([3, 1, 4, 1, 5, 9, 2])
    p = C.pair_labels(y)
    assert p.tolist() == [3, 1, 4, 3, 1, 4, 2]


def test_mode_seeking_g_step_matches_an_independent_gradient():
    import copy

    import torch.nn.functional as F

    cfg = gl.preset("cgan-mnist", size="quick")
    G, D = M.build(cfg)
    G2, D2 = copy.deepcopy(G), copy.deepcopy(D)
    lr, weight = 0.05, 0.7
    g = torch.Generator().manual_seed(2)
    z, y_fake = torch.randn(8, cfg.nz, generator=g), torch.randint(10, (8,), generator=g)
    stats = C.mode_seeking_g_step(weight)(G, D, torch.optim.SGD(G.parameters(), lr=lr), z,
                                          gl.losses.get("non-saturating"), y_fake)
    # by hand: pairs (i, i+4) share a label; loss = -log D(G(z|y)|y) + weight / (ms + eps)
    y = torch.cat([y_fake[:4], y_fake[:4]])
    x = G2(z, y)
    adv = F.binary_cross_entropy_with_logits(D2(x, y), torch.ones(8))
    ms = (x[:4] - x[4:]).abs().mean() / (z[:4] - z[4:]).abs().mean()
    (adv + weight / (ms + 1e-5)).backward()
    assert stats["loss_g"] == pytest.approx(adv.item(), rel=1e-5)
    for after, p in zip(G.parameters(), G2.parameters()):
        torch.testing.assert_close(after, p - lr * p.grad, rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="conditional"):
        C.mode_seeking_g_step()(G, D, torch.optim.SGD(G.parameters(), lr=lr), z, gl.losses.get("non-saturating"))


def test_step_functions_follow_the_config():
    cfg = gl.preset("cgan-mnist", size="quick")
    assert C.step_functions(cfg.replace(extra={})) == {}
    steps = C.step_functions(cfg.replace(extra={"matching_d": True, "mode_seeking": 1.0}))
    assert steps["d_step_fn"] is C.matching_d_step and callable(steps["g_step_fn"])
