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


# ================================================ deeper checks (issue "Chapters corrected and deepened")
from scipy import optimize  # noqa: E402
from scipy import special  # noqa: E402


def _quad(fn, lo=-20.0, hi=20.0, points=None):
    """An independent integral of a scalar function (scipy's quad on a wide interval)."""
    return integrate.quad(fn, lo, hi, points=points, limit=500, epsabs=1e-13, epsrel=1e-12)[0]


# ---------------------------------------------------------------- 1. non-saturating loss at a fixed D*
def test_nonsaturating_gradient_at_fixed_d_star_is_that_of_kl_minus_two_jsd():
    r = T.nonsaturating_at_fixed_d_star(T.normal(0.0, 1.0), lambda m: T.normal(m, 1.0), 1.0)
    # the four numbers of chapter 2
    assert r["ns_value"] == pytest.approx(1.08173, abs=1e-5)
    assert r["kl_minus_2jsd_value"] == pytest.approx(0.27716, abs=1e-5)
    assert r["ns_grad"] == pytest.approx(0.60203, abs=1e-5)
    assert r["kl_minus_2jsd_grad"] == pytest.approx(0.60203, abs=1e-5)
    # the derivatives agree, the values do not, and re-optimising D* inside the derivative is wrong
    assert abs(r["ns_grad"] - r["kl_minus_2jsd_grad"]) < 1e-7
    assert abs(r["ns_value"] - r["kl_minus_2jsd_value"]) > 0.5
    assert abs(r["ns_grad_moving_d_star"] - r["ns_grad"]) > 0.1
    # independent routes, with scipy only. For p_g = N(mu, 1), x = mu + z and -log D*(x) = softplus(mu x - mu^2/2),
    # so d/dmu E_z[-log D*(mu + z)] (D* frozen) = E_{p_g}[mu (1 - D*(x))]
    mu = 1.0
    d_star = lambda x: special.expit(-mu * x + mu ** 2 / 2)  # noqa: E731
    q = stats.norm(mu, 1).pdf
    assert r["ns_value"] == pytest.approx(_quad(lambda x: q(x) * np.logaddexp(0, mu * x - mu ** 2 / 2)), abs=1e-9)
    assert r["ns_grad"] == pytest.approx(_quad(lambda x: q(x) * mu * (1 - d_star(x))), abs=1e-7)

    def jsd_scipy(m):  # 1/2 KL(p || mix) + 1/2 KL(q || mix) by quad
        p_, q_ = stats.norm(0, 1), stats.norm(m, 1)
        def f(x):
            lp, lq = p_.logpdf(x), q_.logpdf(x)
            lm = np.logaddexp(lp, lq) - math.log(2)
            return 0.5 * (np.exp(lp) * (lp - lm) + np.exp(lq) * (lq - lm))
        return _quad(f)
    div = lambda m: m ** 2 / 2 - 2 * jsd_scipy(m)  # KL(N(m,1) || N(0,1)) = m^2 / 2  # noqa: E731
    assert r["kl_minus_2jsd_value"] == pytest.approx(div(mu), abs=1e-9)
    assert r["kl_minus_2jsd_grad"] == pytest.approx((div(mu + 1e-4) - div(mu - 1e-4)) / 2e-4, abs=1e-6)


@pytest.mark.parametrize("mu", [0.4, 2.0])
def test_nonsaturating_gradient_identity_holds_elsewhere_too(mu):
    """p_g = N(mu, 0.6^2): unequal widths, so that KL(p_g || p_data) and KL(p_data || p_g) differ."""
    p, family = T.normal(0.0, 1.0), (lambda m: T.normal(m, 0.6))
    r = T.nonsaturating_at_fixed_d_star(p, family, mu)
    assert abs(r["ns_grad"] - r["kl_minus_2jsd_grad"]) < 1e-6 * max(1.0, abs(r["ns_grad"]))
    assert r["ns_grad"] > 0.05  # G is pushed back towards the data (mu decreases)
    assert abs(r["ns_value"] - r["kl_minus_2jsd_value"]) > 0.1
    # the KL the other way round (the "forward" KL) does not give the gradient
    wrong = lambda m: T.kl_gaussians(0.0, 1.0, m, 0.6) - 2 * T.jsd(p, family(m))  # noqa: E731
    assert abs((wrong(mu + 1e-4) - wrong(mu - 1e-4)) / 2e-4 - r["ns_grad"]) > 0.5


# ---------------------------------------------------------------- 2. LSGAN's optimal D
@pytest.mark.parametrize("a,b", [(0.0, 1.0), (-1.0, 1.0), (0.0, 0.9)])
def test_lsgan_d_star_is_the_pointwise_minimiser(a, b):
    p, q = PAIRS["mixture"]
    x = np.linspace(-5, 5, 41)
    pd, pg = p.pdf(x), q.pdf(x)
    closed = T.lsgan_d_star(p, q, x, a=a, b=b)
    numeric = np.array([optimize.minimize_scalar(lambda d: T.lsgan_d_loss_pointwise(d, u, v, a, b),
                                                 bounds=(min(a, b) - 1, max(a, b) + 1), method="bounded",
                                                 options={"xatol": 1e-12}).x for u, v in zip(pd, pg)])
    np.testing.assert_allclose(closed, numeric, atol=1e-6)
    np.testing.assert_allclose(closed, (b * pd + a * pg) / (pd + pg), atol=1e-12)
    swapped = (a * pd + b * pg) / (pd + pg)  # a wrong formula: the targets exchanged
    assert np.max(np.abs(swapped - numeric)) > 0.1 * abs(b - a)


def test_lsgan_d_star_zeroes_the_gradient_of_the_library_loss():
    """ganlib.losses.d_least_squares on batches that hold each value as often as its probability says."""
    p, q = T.Discrete([0, 1, 2], [0.5, 0.25, 0.25]), T.Discrete([0, 1, 2], [0.25, 0.25, 0.5])
    real_idx, fake_idx = torch.tensor([0, 0, 1, 2]), torch.tensor([0, 1, 2, 2])
    for b in (1.0, 0.9):
        for scores, should_vanish in ((T.lsgan_d_star(p, q, p.values, b=b), True),
                                      (T.lsgan_d_star(q, p, p.values, b=b), False)):
            s = torch.tensor(scores, dtype=torch.float64, requires_grad=True)
            (g,) = torch.autograd.grad(losses.d_least_squares(s[real_idx], s[fake_idx], real_label=b), s)
            assert (g.abs().max().item() < 1e-12) == should_vanish


# ---------------------------------------------------------------- 3. label smoothing
@pytest.mark.parametrize("alpha,beta", [(0.9, 0.0), (0.9, 0.1), (0.8, 0.3)])
def test_smoothed_d_star_maximises_the_soft_target_cross_entropy(alpha, beta):
    p, q = PAIRS["gaussians"]
    x = np.linspace(-3, 4, 29)
    pd, pg = p.pdf(x), q.pdf(x)

    def neg_objective(d, u, v):
        return -(u * (alpha * math.log(d) + (1 - alpha) * math.log1p(-d))
                 + v * (beta * math.log(d) + (1 - beta) * math.log1p(-d)))
    numeric = np.array([optimize.minimize_scalar(neg_objective, args=(u, v), bounds=(1e-12, 1 - 1e-12),
                                                 method="bounded", options={"xatol": 1e-12}).x
                        for u, v in zip(pd, pg)])
    closed = T.smoothed_d_star(p, q, x, real_label=alpha, fake_label=beta)
    np.testing.assert_allclose(closed, numeric, atol=1e-6)
    wrong = (beta * pd + alpha * pg) / (pd + pg)  # targets on the wrong side
    assert np.max(np.abs(wrong - numeric)) > 0.1
    assert np.all(closed <= alpha + 1e-15) and np.all(closed >= beta - 1e-15)


def test_one_sided_smoothing_scales_d_star_by_the_real_label():
    p, q = PAIRS["mixture"]
    x = np.linspace(-6, 6, 49)
    np.testing.assert_allclose(T.smoothed_d_star(p, q, x, 0.9, 0.0), 0.9 * T.d_star(p, q, x), rtol=1e-12)
    assert np.max(np.abs(T.smoothed_d_star(p, q, x, 0.9, 0.0) - T.d_star(p, q, x))) > 0.05


def test_loss_on_reals_never_drops_below_the_binary_entropy_of_the_real_label():
    h = T.binary_entropy(0.9)
    assert h == pytest.approx(stats.bernoulli(0.9).entropy(), abs=1e-14)
    assert h == pytest.approx(0.325083, abs=1e-6)
    assert T.binary_entropy(np.array([0.0, 1.0])).tolist() == [0.0, 0.0]
    p, q = PAIRS["gaussians"]
    candidates = {
        "smoothed D*": lambda x: special.logit(T.smoothed_d_star(p, q, x, 0.9, 0.0)),
        "plain D*": lambda x: T.d_star_logit(p, q, x),
        "always 0.9": lambda x: np.full_like(x, math.log(9.0)),
        "always 0.5": lambda x: np.zeros_like(x),
        "very sure": lambda x: np.full_like(x, 12.0),
    }
    real = {k: T.smoothed_d_loss(D, p, q, real_label=0.9)["real"] for k, D in candidates.items()}
    assert real["always 0.9"] == pytest.approx(h, abs=1e-10)  # the bound is attained, and only by D = 0.9
    for k in ("smoothed D*", "plain D*", "always 0.5", "very sure"):
        assert real[k] > h + 1e-3, k
    total = T.smoothed_d_loss(candidates["smoothed D*"], p, q, real_label=0.9)["total"]
    assert total > h
    # without smoothing the same D loss can go to 0
    assert T.smoothed_d_loss(lambda x: np.full_like(x, 30.0), p, q, real_label=1.0)["real"] < 1e-12


def test_library_d_loss_with_real_label_09_stays_above_0325():
    """Minimise ganlib.losses.d_cross_entropy over free logits: the floor is H(0.9), not 0."""
    floors = {}
    for label in (0.9, 1.0):
        t = torch.zeros(2, dtype=torch.float64, requires_grad=True)  # one real logit, one fake logit
        for _ in range(500):  # plain gradient descent (torch.optim's first use costs seconds of imports)
            (g,) = torch.autograd.grad(losses.d_cross_entropy(t[:1], t[1:], real_label=label), t)
            with torch.no_grad():
                t -= 2.0 * g
        floors[label] = losses.d_cross_entropy(t[:1], t[1:], real_label=label).item()
        if label == 0.9:
            assert torch.sigmoid(t[0]).item() == pytest.approx(0.9, abs=1e-4)
    h = float(T.binary_entropy(0.9))
    assert h <= floors[0.9] < h + 0.01  # the fake half still shrinks slowly, like 1 / steps
    assert floors[1.0] < 0.05  # the unsmoothed loss keeps falling towards 0


# ---------------------------------------------------------------- 4. conditional GANs
COND = dict(class_probs=[0.3, 0.7], p=[T.normal(0.0, 1.0), T.normal(3.0, 1.0)],
            g=[T.normal(0.5, 1.2), T.Mixture([0.5, 0.5], [2.0, 4.0], [0.7, 0.7])])


def test_conditional_d_star_and_c_of_g():
    x = np.linspace(-3, 6, 31)
    for y in (0, 1):
        closed = T.conditional_d_star(COND["p"], COND["g"], x, np.full(x.shape, y))
        np.testing.assert_allclose(closed, T.d_star_numeric(COND["p"][y], COND["g"][y], x), atol=1e-6)
    c = T.conditional_c_of_g(COND["class_probs"], COND["p"], COND["g"])
    by_jsd = -T.LOG4 + 2 * sum(w * T.jsd(p, q) for w, p, q in zip(COND["class_probs"], COND["p"], COND["g"]))
    assert c == pytest.approx(by_jsd, abs=1e-8)
    assert c > -T.LOG4 + 0.05
    # Monte Carlo of the conditional game, labels drawn at random
    rng = np.random.default_rng(0)
    n = 100_000
    y = rng.choice(2, size=n, p=COND["class_probs"])
    xr = np.where(y == 0, COND["p"][0].sample(n, rng), COND["p"][1].sample(n, rng))
    xf = np.where(y == 0, COND["g"][0].sample(n, rng), COND["g"][1].sample(n, rng))
    terms = (np.log(T.conditional_d_star(COND["p"], COND["g"], xr, y))
             + np.log1p(-T.conditional_d_star(COND["p"], COND["g"], xf, y)))
    assert abs(terms.mean() - c) < 4 * terms.std(ddof=1) / math.sqrt(n)


def test_only_a_conditional_d_catches_a_generator_that_swaps_the_labels():
    p = [T.normal(0.0, 1.0), T.normal(3.0, 1.0)]
    g = [p[1], p[0]]  # right marginal, every label wrong
    marginal = T.Mixture([0.5, 0.5], [0.0, 3.0], [1.0, 1.0])
    assert T.c_of_g(marginal, marginal) == pytest.approx(-T.LOG4, abs=1e-12)  # an unconditional D sees nothing
    c = T.conditional_c_of_g([0.5, 0.5], p, g)
    assert c == pytest.approx(-T.LOG4 + 2 * T.jsd(p[0], p[1]), abs=1e-8)
    assert c > -T.LOG4 + 0.5


MATCH, MISMATCH, FAMILY = T.normal(0.0, 1.0), T.normal(3.0, 1.0), (lambda m: T.normal(m, 1.0))


def test_matching_aware_d_star_and_objective():
    p_g = T.normal(0.5, 1.0)
    x = np.linspace(-3, 5, 33)
    neg = T.Mixture([0.5, 0.5], [0.5, 3.0], [1.0, 1.0])  # half fakes, half reals of the other class
    closed = T.matching_aware_d_star(MATCH, MISMATCH, p_g, x)
    np.testing.assert_allclose(closed, T.d_star_numeric(MATCH, neg, x), atol=1e-6)
    pm, pg, po = MATCH.pdf(x), p_g.pdf(x), MISMATCH.pdf(x)
    np.testing.assert_allclose(closed, pm / (pm + pg / 2 + po / 2), rtol=1e-12)
    assert np.max(np.abs(closed - T.d_star(MATCH, p_g, x))) > 0.1  # not the plain conditional D*
    assert T.matching_aware_c(MATCH, MISMATCH, p_g) == pytest.approx(-T.LOG4 + 2 * T.jsd(MATCH, neg), abs=1e-9)


def test_matching_aware_generator_is_not_stationary_at_the_data():
    r = T.matching_aware_gradient(MATCH, MISMATCH, FAMILY, 0.0)
    assert r["grad"] == pytest.approx(0.06574, abs=1e-5)
    assert r["grad_g_term"] == pytest.approx(r["grad"], abs=1e-7)  # G's own term carries the whole gradient
    assert r["c"] == pytest.approx(-1.06862, abs=1e-5)
    mu_star, c_star = T.matching_aware_minimiser(MATCH, MISMATCH, FAMILY)
    assert mu_star == pytest.approx(-0.2070, abs=1e-3)
    assert c_star < r["c"] - 1e-3 and c_star > -T.LOG4 + 0.3  # -log 4 is out of reach
    # the plain conditional game (negatives are all fakes) IS stationary at p_g = p(x|y)
    plain = T.matching_aware_gradient(MATCH, MISMATCH, FAMILY, 0.0, fake_share=1.0)
    assert abs(plain["grad"]) < 1e-8 and plain["c"] == pytest.approx(-T.LOG4, abs=1e-10)


# ---------------------------------------------------------------- 5. Frechet distance
FD_CASE = dict(m1=np.zeros(3), s1=np.array([[1.0, 0.8, 0.0], [0.8, 1.0, 0.3], [0.0, 0.3, 0.5]]),
               m2=np.array([1.0, 0.0, -0.5]), s2=np.array([[2.0, -0.5, 0.0], [-0.5, 0.5, 0.0], [0.0, 0.0, 1.0]]))


def test_frechet_closed_form():
    from scipy import linalg
    c = FD_CASE
    fd = T.frechet_gaussians(c["m1"], c["s1"], c["m2"], c["s2"])
    by_sqrtm = (np.sum((c["m1"] - c["m2"]) ** 2) + np.trace(c["s1"] + c["s2"])
                - 2 * np.trace(linalg.sqrtm(c["s1"] @ c["s2"]).real))
    assert fd == pytest.approx(by_sqrtm, abs=1e-10)
    assert fd == pytest.approx(T.frechet_gaussians(c["m2"], c["s2"], c["m1"], c["s1"]), abs=1e-12)
    assert T.frechet_gaussians(c["m1"], c["s1"], c["m1"], c["s1"]) == pytest.approx(0.0, abs=1e-12)
    # 1-D: (m1 - m2)^2 + (sd1 - sd2)^2, given variances; diagonal: sum over coordinates
    assert T.frechet_gaussians(0.5, 4.0, -1.0, 0.25) == pytest.approx(1.5 ** 2 + 1.5 ** 2, abs=1e-12)
    assert T.frechet_gaussians([0, 0], np.diag([1.0, 9.0]), [1, 2], np.diag([4.0, 1.0])) == pytest.approx(
        1 + 4 + 1 + 4, abs=1e-12)
    with pytest.raises(ValueError, match="covariances"):
        T.frechet_gaussians([0, 0], np.eye(3), [0, 0], np.eye(3))


def test_library_frechet_distance_on_large_gaussian_samples():
    from ganlib import metrics
    c = FD_CASE
    n = 100_000
    rng = np.random.default_rng(0)
    a = rng.multivariate_normal(c["m1"], c["s1"], n)
    b = rng.multivariate_normal(c["m2"], c["s2"], n)
    est = metrics.frechet_distance(torch.from_numpy(a), torch.from_numpy(b))
    exact = T.frechet_gaussians(c["m1"], c["s1"], c["m2"], c["s2"])
    # standard error scale: the mean term 2 (m1-m2)' (S1+S2) (m1-m2) / n and the covariance term Tr(S1+S2)/sqrt(n)
    dm, s = c["m2"] - c["m1"], c["s1"] + c["s2"]
    tol = 5 * math.hypot(2 * math.sqrt(dm @ s @ dm / n), np.trace(s) / math.sqrt(n))
    assert tol < 0.15
    assert abs(est - exact) < tol
    wrong = {"no factor 2": exact + np.trace(T._psd_sqrt(T._psd_sqrt(c["s1"]) @ c["s2"] @ T._psd_sqrt(c["s1"]))),
             "diagonals only": np.sum(dm ** 2) + np.sum((np.sqrt(np.diag(c["s1"])) - np.sqrt(np.diag(c["s2"]))) ** 2)}
    for name, w in wrong.items():
        assert abs(est - w) > 5 * tol, name


# ---------------------------------------------------------------- 6. Proposition 2
def test_functional_descent_with_optimal_d_converges_to_the_data():
    p, q0 = T.Mixture([0.5, 0.5], [-2.0, 2.0], [0.6, 0.6]), T.normal(3.0, 0.5)
    r = T.proposition2_functional_descent(p, q0, n_steps=40, step=0.5)
    c, tv = r["c"], r["tv"]
    assert c[0] == pytest.approx(T.c_of_g(p, q0), abs=1e-6)
    moving = c[:-1] > -T.LOG4 + 1e-8
    assert moving.sum() >= 20 and np.all(np.diff(c)[moving] < 0)  # monotone decrease
    assert np.all(np.diff(c) < 1e-13)
    assert c[-1] == pytest.approx(-T.LOG4, abs=1e-7) and tv[-1] < 1e-3 and tv[0] > 0.5
    assert np.max(np.abs(r["p_g"][-1] - p.pdf(r["x"]))) < 1e-3
    # with step 1 the first update is exactly the mixture (p_data + p_g) / 2
    r1 = T.proposition2_functional_descent(p, q0, n_steps=1, step=1.0)
    np.testing.assert_allclose(r1["p_g"][1], 0.5 * (p.pdf(r1["x"]) + q0.pdf(r1["x"])), atol=1e-8)
    half = T.Mixture([0.25, 0.25, 0.5], [-2.0, 2.0, 3.0], [0.6, 0.6, 0.5])
    assert r1["c"][1] == pytest.approx(T.c_of_g(p, half), abs=1e-6)


def test_functional_descent_against_a_frozen_d_collapses():
    p, q0 = T.Mixture([0.5, 0.5], [-2.0, 2.0], [0.6, 0.6]), T.normal(3.0, 0.5)
    r = T.proposition2_functional_descent(p, q0, n_steps=40, step=0.5, freeze_d=True)
    assert r["c"][1] < r["c"][0]  # the first step is the same
    assert r["c"][-1] > r["c"][0] + 0.3 and r["tv"][-1] > 0.9  # then p_g runs to where p_data / p_g0 is largest
    # (here the far left tail, the grid's edge): the 'generator' collapses onto one spot that D0 liked


def test_gaussian_descent_with_optimal_d():
    p = T.normal(0.0, 1.0)
    r = T.proposition2_gaussian_descent(p, mu0=3.0, std0=0.4, n_steps=120, lr=1.0)
    c = r["c"]
    assert c[0] == pytest.approx(T.c_of_g(p, T.normal(3.0, 0.4)), abs=1e-8)
    moving = c[:-1] > -T.LOG4 + 1e-10  # once at -log 4, rounding is all that is left
    assert moving.sum() > 10 and np.all(np.diff(c)[moving] < 0)
    assert c[-1] == pytest.approx(-T.LOG4, abs=1e-10)
    np.testing.assert_allclose(r["params"][-1], [0.0, 1.0], atol=1e-6)
    # the envelope gradient equals a finite difference of C computed by quadrature
    h = 1e-4
    cq = lambda m, ls: T.c_of_g(p, T.normal(m, math.exp(ls)))  # noqa: E731
    fd = [(cq(3 + h, math.log(0.4)) - cq(3 - h, math.log(0.4))) / (2 * h),
          (cq(3, math.log(0.4) + h) - cq(3, math.log(0.4) - h)) / (2 * h)]
    np.testing.assert_allclose(r["grad"][0], fd, atol=1e-6)
    assert abs(r["grad"][0][0]) > 0.01


# ---------------------------------------------------------------- 7. Dirac-GAN
def test_dirac_gan_one_step_is_the_gradient_of_v():
    theta, psi, lr, gamma = 0.7, -1.3, 0.1, 0.5
    th = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    ps = torch.tensor(psi, dtype=torch.float64, requires_grad=True)
    v = -torch.nn.functional.softplus(-ps * th) - math.log(2)  # f(psi theta) + f(0)
    g_th, g_ps = torch.autograd.grad(v - gamma / 2 * ps ** 2, (th, ps))
    step = T.dirac_gan(theta, psi, n_steps=1, lr=lr, mode="simultaneous", r1_gamma=gamma)[1]
    np.testing.assert_allclose(step, [theta - lr * g_th.item(), psi + lr * g_ps.item()], rtol=1e-12)
    with pytest.raises(ValueError, match="simultaneous"):
        T.dirac_gan(mode="sequential")


def test_dirac_gan_simultaneous_spirals_out():
    traj = T.dirac_gan(1.0, 1.0, n_steps=2000, lr=0.1, mode="simultaneous")
    r2 = (traj ** 2).sum(1)
    fprime = special.expit(-traj[:-1, 0] * traj[:-1, 1])
    np.testing.assert_allclose(r2[1:], r2[:-1] * (1 + 0.1 ** 2 * fprime ** 2), rtol=1e-12)
    assert np.all(np.diff(r2) > 0) and math.sqrt(r2[-1]) > 2 * math.sqrt(r2[0])


def test_dirac_gan_alternating_circles_without_converging():
    traj = T.dirac_gan(1.0, 1.0, n_steps=2000, lr=0.1, mode="alternating")
    r = np.hypot(traj[:, 0], traj[:, 1])
    assert r.max() < 1.1 * r[0] and r[-500:].min() > 0.9 * r[0]
    assert np.sum(np.diff(np.sign(traj[:, 0])) != 0) >= 10  # it keeps going round


@pytest.mark.parametrize("mode", ["simultaneous", "alternating"])
def test_dirac_gan_converges_with_r1(mode):
    traj = T.dirac_gan(1.0, 1.0, n_steps=2000, lr=0.1, mode=mode, r1_gamma=1.0)
    assert np.hypot(*traj[-1]) < 1e-8
    assert np.hypot(*T.dirac_gan(1.0, 1.0, n_steps=2000, lr=0.1, mode=mode)[-1]) > 1.0  # gamma = 0 does not


# ---------------------------------------------------------------- 8. piecewise-linear generators
LEAKY = dict(knots=[0.0], slopes=[0.4, 2.0], value_at_first_knot=0.5)  # 2 * leaky_relu(z, 0.2) + 0.5


def _leaky_samples(z):
    return (2 * torch.nn.functional.leaky_relu(torch.from_numpy(z), 0.2) + 0.5).numpy()


def test_piecewise_linear_map_is_the_leaky_relu_unit():
    z = np.linspace(-3, 3, 61)
    np.testing.assert_allclose(T.piecewise_linear(z, **LEAKY), _leaky_samples(z), rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="one slope more"):
        T.piecewise_linear(z, [0.0], [1.0])


@pytest.mark.parametrize("noise", ["uniform", "normal"])
def test_pushforward_density_matches_samples_and_formula(noise):
    rng = np.random.default_rng(0)
    n = 200_000
    z = rng.uniform(-1, 1, n) if noise == "uniform" else rng.standard_normal(n)
    x = _leaky_samples(z)
    dens = lambda t: T.pushforward_density_piecewise_linear(t, **LEAKY, noise=noise)  # noqa: E731
    pz = stats.uniform(-1, 2).pdf if noise == "uniform" else stats.norm.pdf
    pts = np.array([-1.0, 0.2, 0.45, 0.55, 1.0, 2.0, 2.4, 4.0])
    formula = np.where(pts < 0.5, pz((pts - 0.5) / 0.4) / 0.4, pz((pts - 0.5) / 2.0) / 2.0)
    np.testing.assert_allclose(dens(pts), formula, rtol=1e-12)
    lo, hi = (0.1, 2.5) if noise == "uniform" else (-2.0, 8.0)
    whole = (0.1, 2.5) if noise == "uniform" else (-4.0, 20.0)  # all the mass (z within -11 and +9.7 sd)
    assert _quad(lambda t: dens(np.array([t]))[0], *whole, points=[0.5]) == pytest.approx(1.0, abs=1e-8)
    # a histogram of samples of the torch LeakyReLU unit: counts within 5 binomial standard errors
    edges = np.linspace(lo, hi, 41)
    counts, _ = np.histogram(x, edges)
    probs = np.array([_quad(lambda t: dens(np.array([t]))[0], a, b, points=[0.5] if a < 0.5 < b else None)
                      for a, b in zip(edges[:-1], edges[1:])])
    assert np.all(np.abs(counts - n * probs) <= 5 * np.sqrt(n * probs * (1 - probs)) + 1)
    # the claim "p_g is constant on each piece": true for uniform noise only
    right = (edges[:-1] >= 0.5) & (edges[1:] <= (2.5 if noise == "uniform" else 4.0))
    v = dens(np.linspace(0.55, 2.45, 20))
    if noise == "uniform":
        left = dens(np.linspace(0.12, 0.48, 10))
        np.testing.assert_allclose(v, 0.25, rtol=1e-12)  # 1/2 (uniform on [-1, 1]) / slope 2
        np.testing.assert_allclose(left, 1.25, rtol=1e-12)  # 1/2 / slope 0.4
    else:
        assert v.max() / v.min() > 1.5
        # the best constant on the piece is rejected by the histogram (chi-square per bin far above 1)
        const = counts[right].mean()
        assert np.sum((counts[right] - const) ** 2 / const) / right.sum() > 100


def test_pushforward_sums_over_preimages_and_needs_the_jacobian():
    x = np.linspace(0.05, 4, 40)
    fold = dict(knots=[0.0], slopes=[-1.0, 1.0], value_at_first_knot=0.0)  # G(z) = |z|
    np.testing.assert_allclose(T.pushforward_density_piecewise_linear(x, **fold), stats.halfnorm.pdf(x), rtol=1e-12)
    # without the 1 / |slope| factor the density would not integrate to 1
    no_jacobian = lambda t: stats.norm.pdf((t - 0.5) / np.where(t < 0.5, 0.4, 2.0))  # noqa: E731
    assert _quad(no_jacobian, -10, 20, points=[0.5]) == pytest.approx(0.5 * 0.4 + 0.5 * 2.0, abs=1e-8)  # not 1
    with pytest.raises(ValueError, match="atom"):
        T.pushforward_density_piecewise_linear(x, [0.0], [0.0, 1.0])


# ---------------------------------------------------------------- 9. small claims: JSD bounds
def test_jsd_is_between_0_and_log2_with_equality_exactly_at_the_ends():
    p = T.normal(0.0, 1.0)
    assert T.jsd(p, T.normal(0.0, 1.0)) == pytest.approx(0.0, abs=1e-13)  # 0 when p = q: not "strictly positive"
    for delta in (0.01, 0.1):  # small shifts: JSD ~ delta^2 / 8 > 0
        assert T.jsd(p, T.normal(delta, 1.0)) == pytest.approx(delta ** 2 / 8, rel=0.01)
    values = [T.jsd(p, T.normal(m, s)) for m, s in [(0.5, 1.0), (2.0, 0.5), (5.0, 3.0), (30.0, 1.0)]]
    assert all(0 < v < T.LOG2 for v in values)
    assert values[-1] == pytest.approx(T.LOG2, abs=1e-10)  # far apart: the bound is approached
    disjoint = T.jsd(T.Discrete([0, 1], [0.5, 0.5]), T.Discrete([2], [1.0]))
    assert disjoint == pytest.approx(T.LOG2, abs=1e-15)  # attained for disjoint supports
