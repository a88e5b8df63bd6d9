"""ganlib.theory: the checks of chapters 1-2, against closed forms and independent computations."""
import math

import numpy as np
import pytest
import torch
from scipy import integrate, stats
from scipy.spatial.distance import jensenshannon

from ganlib import losses
from ganlib import theory as T

PAIRS = {
    "gaussians": (T.normal(0.0, 1.0), T.normal(1.5, 0.7)),
    "mixture": (T.Mixture([0.3, 0.7], [-2.0, 1.0], [0.5, 0.8]), T.normal(0.0, 1.5)),
    "discrete": (T.Discrete([0, 1, 2, 3, 4, 5], [0.1, 0.2, 0.3, 0.2, 0.15, 0.05]),
                 T.Discrete([2, 3, 4, 5, 6, 7], [0.3, 0.25, 0.2, 0.1, 0.1, 0.05])),
}


# ---------------------------------------------------------------- distributions
def test_normal_matches_scipy():
    x = np.linspace(-30, 30, 301)
    p = T.normal(0.7, 1.3)
    np.testing.assert_allclose(p.logpdf(x), stats.norm(0.7, 1.3).logpdf(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(p.cdf(x), stats.norm(0.7, 1.3).cdf(x), rtol=1e-12, atol=1e-15)
    u = np.linspace(0.001, 0.999, 99)
    np.testing.assert_allclose(p.ppf(u), stats.norm(0.7, 1.3).ppf(u), rtol=1e-12, atol=1e-12)


def test_mixture_density_cdf_and_inverse_cdf_agree():
    p = PAIRS["mixture"][0]
    total, _ = integrate.quad(lambda t: p.pdf(np.array([t]))[0], -np.inf, np.inf, points=None)
    assert total == pytest.approx(1.0, abs=1e-9)
    x = np.linspace(-4, 4, 17)
    cdf_by_quad = [integrate.quad(lambda t: p.pdf(np.array([t]))[0], -20, xi)[0] for xi in x]
    np.testing.assert_allclose(p.cdf(x), cdf_by_quad, atol=1e-10)
    u = np.array([1e-6, 0.01, 0.3, 0.5, 0.77, 0.99, 1 - 1e-6])
    np.testing.assert_allclose(p.cdf(p.ppf(u)), u, rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="0 < u < 1"):
        p.ppf(np.array([0.0]))


def test_mixture_samples_have_the_right_moments():
    p = PAIRS["mixture"][0]
    x = p.sample(200_000, 0)
    mean = float(np.sum(p.weights * p.means))
    var = float(np.sum(p.weights * (p.stds ** 2 + p.means ** 2)) - mean ** 2)
    assert x.mean() == pytest.approx(mean, abs=4 * math.sqrt(var / len(x)))
    assert x.var() == pytest.approx(var, rel=0.02)


def test_discrete_pmf_cdf_and_sampling():
    p = PAIRS["discrete"][0]
    assert p.pdf(p.values).sum() == pytest.approx(1.0)
    assert p.pdf(np.array([2.5, -1.0, 9.0])).tolist() == [0.0, 0.0, 0.0]
    assert p.cdf(np.array([-1.0, 2.0, 5.0])) == pytest.approx([0.0, 0.6, 1.0])
    assert p.ppf(np.array([0.05, 0.6, 0.61])).tolist() == [0.0, 2.0, 3.0]
    counts = np.array([(p.sample(100_000, 1) == v).mean() for v in p.values])
    np.testing.assert_allclose(counts, p.probs, atol=0.005)


def test_bad_distributions_say_what_is_wrong():
    with pytest.raises(ValueError, match="as many weights"):
        T.Mixture([1.0], [0.0, 1.0], [1.0])
    with pytest.raises(ValueError, match="stds > 0"):
        T.Mixture([1.0], [0.0], [0.0])
    with pytest.raises(ValueError, match="distinct values"):
        T.Discrete([1, 1], [0.5, 0.5])
    with pytest.raises(ValueError, match="not one of each"):
        T.jsd(T.normal(), PAIRS["discrete"][0])


def test_inverse_cdf_maps_uniform_to_normal():
    """Chapter 1: X = F_X^{-1}(U) with U ~ Uniform(0, 1) is N(0, 1)."""
    u = np.random.default_rng(0).uniform(size=20_000)
    x = T.normal().ppf(u)
    assert stats.kstest(x, "norm").pvalue > 0.01
    q = np.array([0.05, 0.25, 0.5, 0.75, 0.95])
    se = np.sqrt(q * (1 - q) / len(x)) / stats.norm.pdf(stats.norm.ppf(q))  # standard error of a sample quantile
    assert np.all(np.abs(np.quantile(x, q) - stats.norm.ppf(q)) < 4 * se)


# ---------------------------------------------------------------- D*
@pytest.mark.parametrize("name", PAIRS)
def test_numerical_maximiser_of_the_integrand_is_the_closed_form_d_star(name):
    p, q = PAIRS[name]
    x = T.support_grid(p, q, n=121)
    closed, numeric = T.d_star(p, q, x), T.d_star_numeric(p, q, x)
    assert np.all(np.isfinite(closed))
    assert np.max(np.abs(closed - numeric)) <= 1e-6
    # D* agrees with the ratio of plain densities where these do not underflow
    np.testing.assert_allclose(closed, T.d_star_from_densities(p.pdf(x), q.pdf(x)), atol=1e-12)


@pytest.mark.parametrize("name", PAIRS)
def test_derivative_of_the_integrand_vanishes_at_d_star_and_it_is_a_maximum(name):
    p, q = PAIRS[name]
    x = T.support_grid(p, q, n=121)
    a, b, d = p.pdf(x), q.pdf(x), T.d_star(p, q, x)
    inside = (d > 1e-6) & (d < 1 - 1e-6)  # nearer to 0 or 1, 1 - d itself is too rounded to test on
    assert inside.sum() >= 4
    a, b, d = a[inside], b[inside], d[inside]
    assert np.max(np.abs(T.v_integrand_grad_relative(d, a, b))) < 1e-9
    np.testing.assert_allclose(a / d, a + b, rtol=1e-9)  # both terms of the derivative equal p + q there
    np.testing.assert_allclose(b / (1 - d), a + b, rtol=1e-9)
    assert np.all(T.v_integrand_curvature(d, a, b) < 0)
    # a central difference of the integrand itself agrees (independent of the formula for the derivative)
    h = 1e-4 * np.minimum(d, 1 - d)
    fd = (T.v_integrand(d + h, a, b) - T.v_integrand(d - h, a, b)) / (2 * h)
    assert np.max(np.abs(fd) / (a / d + b / (1 - d))) < 1e-6
    # away from D* the derivative is not 0, and its sign points back to D*
    assert np.all(T.v_integrand_grad(0.5 * d, a, b) > 0) and np.all(T.v_integrand_grad(d + 0.5 * (1 - d), a, b) < 0)


def test_d_star_sits_on_the_boundary_where_only_one_density_has_mass():
    p, q = PAIRS["discrete"]
    assert T.d_star(p, q, np.array([0.0, 1.0, 6.0, 7.0])).tolist() == [1.0, 1.0, 0.0, 0.0]
    assert T.d_star_numeric(p, q, np.array([0.0, 7.0])) == pytest.approx([1.0, 0.0], abs=1e-6)


# ---------------------------------------------------------------- C(G), KL, JSD
@pytest.mark.parametrize("name", PAIRS)
def test_value_at_d_star_is_minus_log4_plus_two_jsd(name):
    p, q = PAIRS[name]
    v_star = T.value(lambda x: T.d_star_logit(p, q, x), p, q)
    assert abs(v_star - (-T.LOG4 + 2 * T.jsd(p, q))) <= 1e-8
    assert T.c_of_g(p, q) == pytest.approx(v_star, abs=1e-10)
    # D* beats every other discriminator: a constant 1/2 gives exactly -log 4, a perturbed D* less than C(G)
    assert T.value(lambda x: np.zeros_like(x), p, q) == pytest.approx(-T.LOG4, abs=1e-10)
    assert T.value(lambda x: T.d_star_logit(p, q, x) + 0.3, p, q) < v_star - 1e-4
    assert T.value(lambda x: np.full_like(x, 0.5), p, q, logits=False) == pytest.approx(-T.LOG4, abs=1e-10)


def test_kl_matches_the_gaussian_closed_form():
    for m1, s1, m2, s2 in [(0, 1, 1, 2), (0.5, 0.3, -1, 1.2), (2, 1, 2, 1)]:
        assert T.kl(T.normal(m1, s1), T.normal(m2, s2)) == pytest.approx(T.kl_gaussians(m1, s1, m2, s2), abs=1e-10)
    assert T.kl_gaussians(2, 1, 2, 1) == 0.0


def test_kl_is_infinite_where_q_has_no_mass():
    p, q = PAIRS["discrete"]
    assert T.kl(p, q) == math.inf and T.kl_on_grid([0.5, 0.5], [1.0, 0.0]) == math.inf
    assert math.isfinite(T.jsd(p, q))


def test_jsd_properties():
    p, q = PAIRS["mixture"]
    assert T.jsd(p, p) == pytest.approx(0.0, abs=1e-12)
    assert T.jsd(p, q) > 0.01
    assert T.jsd(p, q) == pytest.approx(T.jsd(q, p), abs=1e-12)
    assert T.jsd(p, q) < T.LOG2
    disjoint = (T.Discrete([0, 1], [0.5, 0.5]), T.Discrete([2, 3], [0.2, 0.8]))
    assert T.jsd(*disjoint) == pytest.approx(T.LOG2, abs=1e-15)
    assert T.c_of_g(*disjoint) == pytest.approx(0.0, abs=1e-15)  # -log 4 + 2 log 2: the worst a G can do
    # the definition through KL to the midpoint, by a different route than jsd()
    m = T.Mixture(np.r_[p.weights, q.weights] / 2, np.r_[p.means, q.means], np.r_[p.stds, q.stds])
    assert T.jsd(p, q) == pytest.approx(0.5 * T.kl(p, m) + 0.5 * T.kl(q, m), abs=1e-10)


def test_discrete_jsd_matches_scipy():
    p, q = PAIRS["discrete"]
    support = np.union1d(p.values, q.values)
    assert T.jsd(p, q) == pytest.approx(jensenshannon(p.pdf(support), q.pdf(support)) ** 2, abs=1e-14)
    assert T.jsd_on_grid(p.pdf(support), q.pdf(support)) == pytest.approx(T.jsd(p, q), abs=1e-14)


def test_c_of_g_over_a_family_is_smallest_at_the_data():
    mu_data = 0.8
    p = T.normal(mu_data, 1.0)
    mus = np.linspace(-2, 3.6, 57)
    c = np.array([T.c_of_g(p, T.normal(m, 1.0)) for m in mus])
    assert mus[np.argmin(c)] == pytest.approx(mu_data, abs=1e-9)
    assert c.min() == pytest.approx(-T.LOG4, abs=1e-12)
    assert np.all(c[np.abs(mus - mu_data) > 0.05] > -T.LOG4 + 1e-4)
    assert np.all(np.diff(c[mus <= mu_data]) < 0) and np.all(np.diff(c[mus >= mu_data]) > 0)


def test_grid_versions_agree_with_quadrature():
    p, q = PAIRS["gaussians"]
    x = np.linspace(-12, 12, 40_001)
    a, b = p.pdf(x), q.pdf(x)
    assert T.kl_on_grid(a, b, x) == pytest.approx(T.kl(p, q), abs=1e-8)
    assert T.jsd_on_grid(a, b, x) == pytest.approx(T.jsd(p, q), abs=1e-8)
    assert T.c_of_g_on_grid(a, b, x) == pytest.approx(T.c_of_g(p, q), abs=1e-8)
    d = T.d_star(p, q, x) * 0.5 + 0.25  # some discriminator that is not D*
    assert T.value_on_grid(d, a, b, x) == pytest.approx(T.value(lambda t: T.d_star(p, q, t) * 0.5 + 0.25, p, q,
                                                                logits=False), abs=1e-8)


@pytest.mark.parametrize("name", PAIRS)
def test_monte_carlo_agrees_with_quadrature_within_its_standard_error(name):
    p, q = PAIRS[name]
    c, se = T.c_of_g_mc(p, q, n=50_000, rng=0)
    assert 0 < se < 0.01
    assert abs(c - T.c_of_g(p, q)) < 3 * se
    j, se_j = T.jsd_mc(p, q, n=50_000, rng=0)
    assert se_j == pytest.approx(se / 2) and abs(j - T.jsd(p, q)) < 3 * se_j
    _, se_big = T.c_of_g_mc(p, q, n=200_000, rng=1)
    assert se_big == pytest.approx(se / 2, rel=0.1)  # the error shrinks like 1 / sqrt(n)


# ---------------------------------------------------------------- saturating vs non-saturating
def test_generator_gradients_saturate_for_minimax_only():
    d = np.array([0.5, 0.1, 1e-2, 1e-4, 1e-8])
    g = T.generator_gradients(d)
    np.testing.assert_allclose(g["minimax_autograd"], g["minimax_closed"], rtol=1e-9)
    np.testing.assert_allclose(g["nonsat_autograd"], g["nonsat_closed"], rtol=1e-9)
    np.testing.assert_allclose(g["minimax_closed"], -d)
    assert abs(g["minimax_autograd"][-1]) < 1e-7 and g["nonsat_autograd"][-1] == pytest.approx(-1.0, abs=1e-7)
    assert g["minimax_autograd"][0] == pytest.approx(g["nonsat_autograd"][0])  # equal at D(G(z)) = 1/2


def test_the_two_generator_losses_are_the_libraries_losses():
    t = torch.tensor([-3.0, 0.0, 2.0], dtype=torch.float64)
    d = torch.sigmoid(t)
    assert losses.g_minimax(t).item() == pytest.approx(torch.log1p(-d).mean().item(), rel=1e-12)
    assert losses.g_non_saturating(t).item() == pytest.approx(-torch.log(d).mean().item(), rel=1e-12)
