"""The GAN game in numbers: V(D, G), the optimal discriminator D*, C(G), KL and JSD, in float64.

Everything here is one-dimensional and exact enough to *check* the theory of Goodfellow et al. (2014):

* distributions: :class:`Mixture` (Gaussian mixtures, :func:`normal` for one Gaussian) and
  :class:`Discrete` (finitely many values). Both give ``logpdf`` (a log density, or a log probability
  mass for :class:`Discrete`), ``pdf``, ``cdf``, ``ppf`` (the inverse CDF) and ``sample``;
* pointwise pieces: the integrand of V, its derivative in D, and D* = p_data / (p_data + p_g), in closed
  form (:func:`d_star`) and by numerical maximisation of the integrand (:func:`d_star_numeric`);
* integrals of two distributions: :func:`value` (V(D, G) for any D), :func:`c_of_g` (V(D*, G)),
  :func:`kl`, :func:`jsd`, by adaptive quadrature (``scipy.integrate.quad``; sums for discrete ones);
* the same on a grid of density values (:func:`kl_on_grid`, :func:`jsd_on_grid`, :func:`value_on_grid`),
  for densities only known on a grid, such as a trained generator's histogram;
* Monte Carlo estimates with their standard errors (:func:`c_of_g_mc`, :func:`jsd_mc`);
* the generator's gradient for the saturating and the non-saturating loss (:func:`generator_gradients`);
* deeper checks of the later chapters: the non-saturating step descends KL - 2 JSD
  (:func:`nonsaturating_at_fixed_d_star`); LSGAN's and label smoothing's optimal D (:func:`lsgan_d_star`,
  :func:`smoothed_d_star`, :func:`smoothed_d_loss`, :func:`binary_entropy`); conditional and matching-aware
  discriminators (:func:`conditional_d_star`, :func:`conditional_c_of_g`, :func:`matching_aware_d_star`,
  :func:`matching_aware_c`, :func:`matching_aware_gradient`, :func:`matching_aware_minimiser`); the Frechet
  distance of two Gaussians (:func:`frechet_gaussians`); Proposition 2 as descent with D kept optimal
  (:func:`proposition2_functional_descent`, :func:`proposition2_gaussian_descent`); the Dirac-GAN
  (:func:`dirac_gan`); densities of piecewise-linear generators (:func:`piecewise_linear`,
  :func:`pushforward_density_piecewise_linear`).

Densities are handled as logarithms where it matters: far in the tails p_data and p_g underflow to 0,
but their logs, and hence log D*, stay finite.

Taught in: "Generative models" (inverse-CDF sampling), "The GAN game" (every check of D* and C(G), the
saturating loss, Proposition 2, the non-saturating gradient), "Training on a 1-D toy" (D* for the current
generator, piecewise-linear generators), "DCGAN on faces" (label smoothing), "Conditional GAN" (conditional and
matching-aware D*), "Variants" (LSGAN), "Challenges" (Dirac-GAN, Frechet distance).
"""
from __future__ import annotations

import math

import numpy as np
from scipy import integrate, optimize, special

LOG2 = math.log(2.0)
LOG4 = math.log(4.0)  # C(G) at its minimum is -log 4


# ---------------------------------------------------------------- distributions
class Mixture:
    """A 1-D Gaussian mixture sum_k w_k N(mean_k, std_k^2); float64 throughout.

    Args:
        weights, means, stds: sequences of the same length; weights are normalised to sum to 1.
    """

    discrete = False

    def __init__(self, weights, means, stds):
        self.weights = np.asarray(weights, dtype=np.float64).ravel()
        self.means = np.asarray(means, dtype=np.float64).ravel()
        self.stds = np.asarray(stds, dtype=np.float64).ravel()
        if not (len(self.weights) == len(self.means) == len(self.stds)) or len(self.weights) == 0:
            raise ValueError("Mixture needs as many weights as means and stds (at least one of each).")
        if np.any(self.weights < 0) or self.weights.sum() <= 0 or np.any(self.stds <= 0):
            raise ValueError("Mixture weights must be >= 0 (not all 0) and stds > 0.")
        keep = self.weights > 0  # a component without weight is no component
        self.weights, self.means, self.stds = self.weights[keep], self.means[keep], self.stds[keep]
        self.weights = self.weights / self.weights.sum()

    def __repr__(self) -> str:
        parts = [f"{w:.3g} N({m:.3g}, {s:.3g}^2)" for w, m, s in zip(self.weights, self.means, self.stds)]
        return " + ".join(parts)

    def logpdf(self, x) -> np.ndarray:
        """log p(x) for an array ``x`` (any shape), computed with logsumexp (no underflow)."""
        x = np.asarray(x, dtype=np.float64)[..., None]
        comp = (np.log(self.weights) - np.log(self.stds) - 0.5 * math.log(2 * math.pi)
                - 0.5 * ((x - self.means) / self.stds) ** 2)
        top = comp.max(axis=-1)  # log-sum-exp by hand: scipy's is slow for the many tiny calls of quad
        return top + np.log(np.exp(comp - top[..., None]).sum(axis=-1))

    def pdf(self, x) -> np.ndarray:
        return np.exp(self.logpdf(x))

    def cdf(self, x) -> np.ndarray:
        """F(x) = sum_k w_k Phi((x - mean_k) / std_k)."""
        x = np.asarray(x, dtype=np.float64)[..., None]
        return (self.weights * special.ndtr((x - self.means) / self.stds)).sum(-1)

    def ppf(self, u) -> np.ndarray:
        """The inverse CDF F^{-1}(u) for ``u`` in (0, 1), by vectorised bisection to machine precision.

        For one Gaussian this is mean + std * Phi^{-1}(u) in closed form; for a mixture there is no closed
        form, which is the point of the "generator as a learned mapping" in chapter 1.
        """
        u = np.asarray(u, dtype=np.float64)
        if np.any((u <= 0) | (u >= 1)):
            raise ValueError("ppf(u) needs 0 < u < 1.")
        if len(self.weights) == 1:
            return self.means[0] + self.stds[0] * special.ndtri(u)
        lo = np.full(u.shape, (self.means - 40 * self.stds).min())
        hi = np.full(u.shape, (self.means + 40 * self.stds).max())
        for _ in range(200):  # each halving gains one bit; 200 is far more than float64 needs
            mid = 0.5 * (lo + hi)
            below = self.cdf(mid) < u
            lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
            if np.all(hi - lo <= 4 * np.finfo(np.float64).eps * np.maximum(1.0, np.abs(mid))):
                break
        return 0.5 * (lo + hi)

    def sample(self, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        """``n`` independent draws, shape ``(n,)``."""
        rng = np.random.default_rng(rng)
        k = rng.choice(len(self.weights), size=n, p=self.weights)
        return self.means[k] + self.stds[k] * rng.standard_normal(n)

    def bounds(self, n_std: float = 12.0) -> tuple[float, float]:
        """An interval that holds all but a negligible part of the mass (mean -/+ n_std std per component)."""
        return float((self.means - n_std * self.stds).min()), float((self.means + n_std * self.stds).max())

    def breakpoints(self) -> np.ndarray:
        """Where the density has its features (the component means); quadrature splits there."""
        return np.unique(self.means)


def normal(mean: float = 0.0, std: float = 1.0) -> Mixture:
    """N(mean, std^2) as a one-component :class:`Mixture`."""
    return Mixture([1.0], [mean], [std])


class Discrete:
    """A distribution on finitely many values ``values`` with probabilities ``probs`` (normalised).

    ``logpdf``/``pdf`` give the probability mass (0 off the support); integrals become sums over the support.
    """

    discrete = True

    def __init__(self, values, probs):
        self.values = np.asarray(values, dtype=np.float64).ravel()
        probs = np.asarray(probs, dtype=np.float64).ravel()
        if len(self.values) != len(probs) or len(probs) == 0 or len(np.unique(self.values)) != len(self.values):
            raise ValueError("Discrete needs distinct values and one probability per value.")
        if np.any(probs < 0) or probs.sum() <= 0:
            raise ValueError("Discrete probabilities must be >= 0 and not all 0.")
        order = np.argsort(self.values)
        self.values, self.probs = self.values[order], (probs / probs.sum())[order]

    def __repr__(self) -> str:
        return "Discrete(" + ", ".join(f"P({v:g})={p:.3g}" for v, p in zip(self.values, self.probs)) + ")"

    def pdf(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        idx = np.clip(np.searchsorted(self.values, x), 0, len(self.values) - 1)
        return np.where(self.values[idx] == x, self.probs[idx], 0.0)

    def logpdf(self, x) -> np.ndarray:
        p = self.pdf(x)
        with np.errstate(divide="ignore"):
            return np.log(p)

    def cdf(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return np.concatenate([[0.0], np.cumsum(self.probs)])[np.searchsorted(self.values, x, side="right")]

    def ppf(self, u) -> np.ndarray:
        """The smallest value v with F(v) >= u (the generalised inverse of a step CDF)."""
        u = np.asarray(u, dtype=np.float64)
        idx = np.searchsorted(np.cumsum(self.probs), u, side="left")
        return self.values[np.clip(idx, 0, len(self.values) - 1)]

    def sample(self, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        rng = np.random.default_rng(rng)
        return rng.choice(self.values, size=n, p=self.probs)

    def bounds(self, n_std: float = 0.0) -> tuple[float, float]:
        return float(self.values.min()), float(self.values.max())


def _same_kind(p, q) -> bool:
    if p.discrete != q.discrete:
        raise ValueError("Compare two densities or two discrete distributions, not one of each: a density and "
                         "a probability mass are measured differently (JSD would be log 2, D* undefined).")
    return p.discrete


def support_grid(p, q, n: int = 2001, n_std: float = 6.0) -> np.ndarray:
    """Points to evaluate pointwise quantities of the pair (p, q): the union of the supports if discrete,
    else ``n`` evenly spaced points over both distributions' bulk (mean -/+ n_std std)."""
    if _same_kind(p, q):
        return np.union1d(p.values, q.values)
    lo = min(p.bounds(n_std)[0], q.bounds(n_std)[0])
    hi = max(p.bounds(n_std)[1], q.bounds(n_std)[1])
    return np.linspace(lo, hi, n)


# ---------------------------------------------------------------- pointwise: the integrand of V and D*
def v_integrand(d, p_data, p_g) -> np.ndarray:
    """p_data log d + p_g log(1 - d): the integrand of V(D, G) at one x, for D(x) = d (arrays broadcast).

    ``0 log 0`` counts as 0, as in the integral: where p_g(x) = 0 a value d = 1 costs nothing.
    """
    d = np.asarray(d, dtype=np.float64)
    return special.xlogy(p_data, d) + special.xlogy(p_g, 1.0 - d)


def v_integrand_grad(d, p_data, p_g) -> np.ndarray:
    """d/dd of :func:`v_integrand`: p_data / d - p_g / (1 - d); zero at d = D*(x)."""
    d = np.asarray(d, dtype=np.float64)
    return p_data / d - p_g / (1.0 - d)


def v_integrand_grad_relative(d, p_data, p_g) -> np.ndarray:
    """The derivative of :func:`v_integrand` relative to the size of its two terms,
    (p_data / d - p_g / (1 - d)) / (p_data / d + p_g / (1 - d)), in [-1, 1]: 0 means stationary.

    Rounding limits it to about eps / min(d, 1 - d): near d = 0 or 1 the difference 1 - d loses digits.
    """
    d = np.asarray(d, dtype=np.float64)
    up, down = p_data / d, p_g / (1.0 - d)
    return (up - down) / (up + down)


def v_integrand_curvature(d, p_data, p_g) -> np.ndarray:
    """Second derivative in d: -p_data / d^2 - p_g / (1 - d)^2 < 0, so the stationary point is a maximum."""
    d = np.asarray(d, dtype=np.float64)
    return -p_data / d ** 2 - p_g / (1.0 - d) ** 2


def d_star(p_data, p_g, x) -> np.ndarray:
    """The optimal discriminator D*(x) = p_data(x) / (p_data(x) + p_g(x)), from log densities.

    ``p_data``, ``p_g``: distributions; ``x``: points, any shape. Where both vanish D* is undefined (nan).
    """
    lp, lq = p_data.logpdf(x), p_g.logpdf(x)
    with np.errstate(invalid="ignore"):
        return np.exp(lp - np.logaddexp(lp, lq))


def d_star_logit(p_data, p_g, x) -> np.ndarray:
    """The logit of D*: log p_data(x) - log p_g(x) (+inf where only p_data has mass, -inf where only p_g).

    Discriminators in ganlib return logits, and so does this one; sigmoid of it is :func:`d_star`.
    """
    with np.errstate(invalid="ignore"):
        return p_data.logpdf(x) - p_g.logpdf(x)


def d_star_from_densities(p_data, p_g) -> np.ndarray:
    """D* from density *values* (arrays): p_data / (p_data + p_g); nan where both are 0."""
    p_data, p_g = np.asarray(p_data, dtype=np.float64), np.asarray(p_g, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return p_data / (p_data + p_g)


def d_star_numeric(p_data, p_g, x, xatol: float = 1e-12) -> np.ndarray:
    """D*(x) found *without* the formula: maximise d -> v_integrand(d, p_data(x), p_g(x)) over [0, 1] at
    every point of ``x`` with a bounded Brent search (``scipy.optimize.minimize_scalar``).

    The two densities are rescaled by their larger value first (computed in log space, so that the tails do
    not underflow); a positive factor does not move the maximiser. One search per point: use it on hundreds
    of points, not millions.
    """
    x = np.asarray(x, dtype=np.float64)
    lp, lq = p_data.logpdf(x).ravel(), p_g.logpdf(x).ravel()
    top = np.maximum(lp, lq)
    a, b = np.exp(lp - top), np.exp(lq - top)
    out = np.empty_like(a)
    for i, (ai, bi) in enumerate(zip(a, b)):
        res = optimize.minimize_scalar(lambda d: -v_integrand(d, ai, bi), bounds=(0.0, 1.0), method="bounded",
                                       options={"xatol": xatol, "maxiter": 500})
        out[i] = res.x
    return out.reshape(x.shape)


# ---------------------------------------------------------------- integrals over x
def integrate_pair(fn, p, q, epsabs: float = 1e-13, epsrel: float = 1e-12) -> float:
    """The integral of ``fn(x)`` over the real line (a sum over the union of supports if p, q are discrete).

    ``fn`` maps an array of points to an array of values. Continuous case: ``scipy.integrate.quad`` on an
    interval holding all of both distributions' mass (mean -/+ 14 std), split at the component means.
    """
    if _same_kind(p, q):
        return float(np.sum(fn(np.union1d(p.values, q.values))))
    lo = min(p.bounds(14.0)[0], q.bounds(14.0)[0])
    hi = max(p.bounds(14.0)[1], q.bounds(14.0)[1])
    points = np.union1d(p.breakpoints(), q.breakpoints())
    value, _ = integrate.quad(lambda t: float(fn(np.array([t]))[0]), lo, hi, points=points, limit=1000,
                              epsabs=epsabs, epsrel=epsrel)
    return float(value)


def _plogp_ratio(lp, lr):
    """exp(lp) * (lp - lr), with 0 where exp(lp) = 0 (the convention 0 log 0 = 0)."""
    with np.errstate(invalid="ignore"):
        return np.where(np.isneginf(lp), 0.0, np.exp(lp) * (lp - lr))


def value(D, p_data, p_g, logits: bool = True) -> float:
    """V(D, G) = integral of p_data(x) log D(x) + p_g(x) log(1 - D(x)) dx, for any discriminator ``D``.

    ``D``: a function from an array of points to D's **logits** t (same shape), as ganlib's discriminators
    return them; then log D = -softplus(-t) and log(1 - D) = -softplus(t) stay finite where D rounds to 0 or
    1. With ``logits=False``, ``D`` returns probabilities instead. The generator and its noise enter only
    through p_g: for x = G(z), E_z[f(G(z))] = E_{x ~ p_g}[f(x)] (the change of variables that source 000
    writes, loosely, as E_z[G(z)] = E_x[x]).
    """
    def integrand(x):
        p, q = p_data.pdf(x), p_g.pdf(x)
        if not logits:
            return v_integrand(D(x), p, q)
        t = np.asarray(D(x), dtype=np.float64)
        with np.errstate(invalid="ignore"):
            log_d, log_1md = -np.logaddexp(0.0, -t), -np.logaddexp(0.0, t)
            return np.where(p > 0, p * log_d, 0.0) + np.where(q > 0, q * log_1md, 0.0)
    return integrate_pair(integrand, p_data, p_g)


def c_of_g(p_data, p_g) -> float:
    """C(G) = max_D V(D, G) = V(D*, G), the integrand written with log D* = log p_data - log(p_data + p_g)."""
    def integrand(x):
        lp, lq = p_data.logpdf(x), p_g.logpdf(x)
        ls = np.logaddexp(lp, lq)  # log(p_data + p_g)
        return _plogp_ratio(lp, ls) + _plogp_ratio(lq, ls)  # p_data log D* + p_g log(1 - D*)
    return integrate_pair(integrand, p_data, p_g)


def kl(p, q) -> float:
    """KL(p || q) = integral of p log(p / q); ``inf`` if p has mass where q has none."""
    def integrand(x):
        lp, lq = p.logpdf(x), q.logpdf(x)
        if np.any(np.isneginf(lq) & ~np.isneginf(lp)):
            return np.full(np.shape(x), np.inf)
        return _plogp_ratio(lp, lq)
    return integrate_pair(integrand, p, q)


def jsd(p, q) -> float:
    """JSD(p || q) = 1/2 KL(p || m) + 1/2 KL(q || m) with m = (p + q) / 2, in nats; 0 <= JSD <= log 2."""
    def integrand(x):
        lp, lq = p.logpdf(x), q.logpdf(x)
        lm = np.logaddexp(lp, lq) - LOG2
        return 0.5 * (_plogp_ratio(lp, lm) + _plogp_ratio(lq, lm))
    return integrate_pair(integrand, p, q)


def kl_gaussians(m1: float, s1: float, m2: float, s2: float) -> float:
    """Closed form KL(N(m1, s1^2) || N(m2, s2^2)) = log(s2/s1) + (s1^2 + (m1 - m2)^2) / (2 s2^2) - 1/2."""
    return math.log(s2 / s1) + (s1 ** 2 + (m1 - m2) ** 2) / (2 * s2 ** 2) - 0.5


# ---------------------------------------------------------------- the same on a grid of density values
def integrate_grid(values, x=None) -> float:
    """The integral of ``values`` sampled at the evenly spaced points ``x`` (Simpson's rule), or their sum
    when ``x`` is None (values of a probability mass function)."""
    values = np.asarray(values, dtype=np.float64)
    if x is None:
        return float(values.sum())
    return float(integrate.simpson(values, x=np.asarray(x, dtype=np.float64)))


def value_on_grid(d, p_data, p_g, x=None) -> float:
    """V(D, G) from arrays: D's values ``d``, the densities ``p_data``, ``p_g`` at the grid ``x``."""
    return integrate_grid(v_integrand(d, p_data, p_g), x)


def c_of_g_on_grid(p_data, p_g, x=None) -> float:
    """C(G) = V(D*, G) from density (or mass) values on a grid: p_data log D* + p_g log(1 - D*) with
    D* = p_data / (p_data + p_g) and 1 - D* = p_g / (p_data + p_g) (not 1 minus a rounded D*)."""
    p, q = np.asarray(p_data, dtype=np.float64), np.asarray(p_g, dtype=np.float64)
    s = p + q
    with np.errstate(divide="ignore", invalid="ignore"):
        return integrate_grid(special.xlogy(p, p) + special.xlogy(q, q) - special.xlogy(s, s), x)


def kl_on_grid(p, q, x=None) -> float:
    """KL(p || q) from density (or mass) values on a grid; ``inf`` if q = 0 where p > 0."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    if np.any((q == 0) & (p > 0)):
        return math.inf
    with np.errstate(divide="ignore", invalid="ignore"):
        return integrate_grid(special.xlogy(p, p) - special.xlogy(p, q), x)


def jsd_on_grid(p, q, x=None) -> float:
    """JSD(p || q) from density (or mass) values on a grid, in nats."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    m = 0.5 * (p + q)
    return 0.5 * kl_on_grid(p, m, x) + 0.5 * kl_on_grid(q, m, x)


# ---------------------------------------------------------------- Monte Carlo
def _mean_and_se(values) -> tuple[float, float]:
    values = np.asarray(values, dtype=np.float64)
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(len(values)))


def c_of_g_mc(p_data, p_g, n: int = 100_000, rng=None) -> tuple[float, float]:
    """Monte Carlo C(G) = mean log D*(x_i) (x_i ~ p_data) + mean log(1 - D*(x'_j)) (x'_j ~ p_g).

    Returns ``(estimate, standard error)`` from ``n`` draws of each; the two halves are independent, so
    their variances add.
    """
    rng = np.random.default_rng(rng)
    xr, xf = p_data.sample(n, rng), p_g.sample(n, rng)

    def log_dstar(x):
        lp, lq = p_data.logpdf(x), p_g.logpdf(x)
        return lp - np.logaddexp(lp, lq), lq - np.logaddexp(lp, lq)

    real_term, fake_term = log_dstar(xr)[0], log_dstar(xf)[1]  # log D*(x), log(1 - D*(x'))
    (m1, s1), (m2, s2) = _mean_and_se(real_term), _mean_and_se(fake_term)
    return m1 + m2, math.hypot(s1, s2)


def jsd_mc(p, q, n: int = 100_000, rng=None) -> tuple[float, float]:
    """Monte Carlo JSD(p || q) = (C + log 4) / 2 with C from :func:`c_of_g_mc`; ``(estimate, standard error)``."""
    c, se = c_of_g_mc(p, q, n, rng)
    return 0.5 * (c + LOG4), 0.5 * se


# ---------------------------------------------------------------- saturating vs non-saturating
def generator_gradients(d_fake) -> dict:
    """The generator loss's gradient with respect to D's logit t on a fake sample, where D(G(z)) = sigmoid(t).

    For each probability in ``d_fake`` (array) it returns float64 arrays:

    * ``minimax_autograd``: d/dt of ``ganlib.losses.g_minimax`` = log(1 - D(G(z))), by torch autograd;
    * ``minimax_closed``: the closed form -sigmoid(t) = -D(G(z)), which vanishes as D(G(z)) -> 0;
    * ``nonsat_autograd``: d/dt of ``ganlib.losses.g_non_saturating`` = -log D(G(z)), by autograd;
    * ``nonsat_closed``: -(1 - D(G(z))), which tends to -1: the gradient survives.

    Both losses are minimised by G, so both gradients point the same way; only their size differs.
    """
    import torch

    from . import losses

    d = np.asarray(d_fake, dtype=np.float64).ravel()
    out = {"d_fake": d}
    for name, fn in (("minimax", losses.g_minimax), ("nonsat", losses.g_non_saturating)):
        grads = []
        for di in d:  # one sample per call: the losses average over the batch
            t = torch.tensor([math.log(di) - math.log1p(-di)], dtype=torch.float64, requires_grad=True)
            (g,) = torch.autograd.grad(fn(t), t)
            grads.append(g.item())
        out[f"{name}_autograd"] = np.array(grads)
    out["minimax_closed"] = -d
    out["nonsat_closed"] = -(1.0 - d)
    return out


# ================================================================ deeper checks (chapters 2-8)
# Each function below backs one claim of a chapter with a number that a test recomputes independently.

def _central_difference(fn, theta: float, h: float) -> float:
    """(fn(theta + h) - fn(theta - h)) / (2 h): error O(h^2) plus the rounding of fn divided by h."""
    return (fn(theta + h) - fn(theta - h)) / (2.0 * h)


def _log_mix(parts) -> np.ndarray:
    """log sum_k w_k p_k(x) from pairs (w_k, log p_k(x)), skipping weights 0 (no underflow)."""
    logs = [math.log(w) + lp for w, lp in parts if w > 0]
    out = logs[0]
    for lp in logs[1:]:
        out = np.logaddexp(out, lp)
    return out


# ---------------------------------------------------------------- 1. the non-saturating loss at a fixed D*
def nonsaturating_at_fixed_d_star(p_data, family, theta: float, h: float = 1e-4) -> dict:
    """The non-saturating generator loss E_{p_g}[-log D*(x)] with D* frozen, against KL(p_g||p_data) - 2 JSD.

    ``family(theta)`` returns the generator's distribution p_g for a scalar parameter ``theta`` (e.g.
    ``lambda m: normal(m, 1.0)``); D* = p_data / (p_data + p_g) is computed once, for p_g = family(theta),
    and then held fixed, as it is during one generator step. Returns floats (nats; derivatives per unit of
    theta):

    * ``ns_value``: E_{x ~ p_g}[-log D*(x)];
    * ``kl_minus_2jsd_value``: KL(p_g || p_data) - 2 JSD(p_data, p_g);
    * ``ns_grad``: d/dtheta' E_{x ~ family(theta')}[-log D*(x)] at theta' = theta, D* frozen (central
      difference with step ``h`` on the density family);
    * ``kl_minus_2jsd_grad``: d/dtheta of ``kl_minus_2jsd_value`` (central difference);
    * ``ns_grad_moving_d_star``: the derivative when D* is *re-optimised* for every theta' -- the wrong way to
      read the claim: it is not the gradient a generator step follows.

    The two ``*_grad`` agree (Arjovsky & Bottou 2017, Thm 2.5): the non-saturating step descends
    KL - 2 JSD, a divergence that rewards dropping modes (the reverse KL) and pushes against the JSD.
    The two ``*_value`` differ: the loss and the divergence differ by a term whose gradient vanishes at D*.

    Taught in: "The GAN game" (chapter 2: why the non-saturating loss is not a JSD minimiser).
    """
    p_g = family(theta)

    def log_d_star(x):  # frozen at the current p_g
        lp = p_data.logpdf(x)
        return lp - np.logaddexp(lp, p_g.logpdf(x))

    def ns_loss(t, frozen=True):
        q = family(t)
        if frozen:
            return integrate_pair(lambda x: -q.pdf(x) * log_d_star(x), p_data, q)

        def moving(x):
            lp, lq = p_data.logpdf(x), q.logpdf(x)
            return -np.exp(lq) * (lp - np.logaddexp(lp, lq))
        return integrate_pair(moving, p_data, q)

    def kl_2jsd(t):
        q = family(t)
        return kl(q, p_data) - 2.0 * jsd(p_data, q)

    return {"ns_value": ns_loss(theta), "kl_minus_2jsd_value": kl_2jsd(theta),
            "ns_grad": _central_difference(ns_loss, theta, h),
            "kl_minus_2jsd_grad": _central_difference(kl_2jsd, theta, h),
            "ns_grad_moving_d_star": _central_difference(lambda t: ns_loss(t, frozen=False), theta, h)}


# ---------------------------------------------------------------- 2. LSGAN's optimal discriminator
def lsgan_d_loss_pointwise(d, p_data, p_g, a: float = 0.0, b: float = 1.0) -> np.ndarray:
    """1/2 p_data (d - b)^2 + 1/2 p_g (d - a)^2: the integrand of LSGAN's D loss at one x (arrays broadcast).

    ``b`` is the target for real samples, ``a`` for fakes (Mao et al.; ganlib's ``d_least_squares`` has a = 0,
    b = ``real_label``). D minimises it.

    Taught in: "Variants" (chapter 7).
    """
    d = np.asarray(d, dtype=np.float64)
    return 0.5 * p_data * (d - b) ** 2 + 0.5 * p_g * (d - a) ** 2


def lsgan_d_star(p_data, p_g, x, a: float = 0.0, b: float = 1.0) -> np.ndarray:
    """LSGAN's optimal D: (b p_data(x) + a p_g(x)) / (p_data(x) + p_g(x)), a score (not a probability).

    ``x``: points, any shape; returns that shape. Written as a + (b - a) D*_GAN(x), from log densities, so
    it stays finite where both densities underflow. With a = 0, b = 1 it equals the cross-entropy D*.

    Taught in: "Variants" (chapter 7: what the least-squares discriminator estimates).
    """
    return a + (b - a) * d_star(p_data, p_g, x)


# ---------------------------------------------------------------- 3. label smoothing
def binary_entropy(alpha) -> np.ndarray:
    """H(alpha) = -(alpha ln alpha + (1 - alpha) ln(1 - alpha)) in nats, 0 at alpha in {0, 1}; any shape.

    The least cross-entropy any D can reach against a soft target alpha (0.325 nats for alpha = 0.9).

    Taught in: "DCGAN on faces" (chapter 4: label smoothing).
    """
    alpha = np.asarray(alpha, dtype=np.float64)
    return -(special.xlogy(alpha, alpha) + special.xlogy(1.0 - alpha, 1.0 - alpha))


def smoothed_d_star(p_data, p_g, x, real_label: float = 1.0, fake_label: float = 0.0) -> np.ndarray:
    """The optimal D for cross-entropy with soft targets: (alpha p_data + beta p_g) / (p_data + p_g).

    ``real_label`` = alpha (0.9 in source 000), ``fake_label`` = beta (0 for one-sided smoothing, where the
    result is alpha D*: D never believes a real sample more than alpha). ``x``: points, any shape.

    Taught in: "DCGAN on faces" (chapter 4: one-sided label smoothing), "Challenges" (chapter 8).
    """
    return fake_label + (real_label - fake_label) * d_star(p_data, p_g, x)


def smoothed_d_loss(D, p_data, p_g, real_label: float = 1.0, fake_label: float = 0.0,
                    logits: bool = True) -> dict:
    """The discriminator's cross-entropy loss with soft targets, by quadrature, split in its two halves.

    ``D`` maps points to logits (or probabilities with ``logits=False``). Returns floats in nats:

    * ``real``: E_data[-(alpha log D + (1 - alpha) log(1 - D))] = H(alpha) + E_data[KL(alpha || D(x))],
      so it is never below :func:`binary_entropy` (alpha) (0.325 nats for alpha = 0.9);
    * ``fake``: the same on p_g with target beta; ``total``: their sum (the tutorial's Loss_D).

    Taught in: "DCGAN on faces" (chapter 4: why Loss_D stays above 0.325 with real label 0.9).
    """
    def halves(x):
        out = np.asarray(D(x), dtype=np.float64)
        if logits:
            log_d, log_1md = -np.logaddexp(0.0, -out), -np.logaddexp(0.0, out)
        else:
            with np.errstate(divide="ignore"):
                log_d, log_1md = np.log(out), np.log1p(-out)
        return log_d, log_1md

    def ce(target, dist):
        def integrand(x):
            log_d, log_1md = halves(x)
            terms = np.where(target > 0, target * log_d, 0.0) + np.where(target < 1, (1 - target) * log_1md, 0.0)
            return -dist.pdf(x) * terms
        return integrate_pair(integrand, p_data, p_g)

    real, fake = ce(real_label, p_data), ce(fake_label, p_g)
    return {"real": real, "fake": fake, "total": real + fake}


# ---------------------------------------------------------------- 4. conditional GANs
def conditional_d_star(p_data_given_y, p_g_given_y, x, y) -> np.ndarray:
    """D*(x | y) = p(x|y) / (p(x|y) + p_g(x|y)) for points ``x`` with class indices ``y`` (same shape).

    ``p_data_given_y``, ``p_g_given_y``: sequences of distributions, one per class.

    Taught in: "Conditional GAN on MNIST" (chapter 6).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.broadcast_to(np.asarray(y), x.shape)
    out = np.full(x.shape, np.nan)
    for k, (p, q) in enumerate(zip(p_data_given_y, p_g_given_y)):
        sel = y == k
        out[sel] = d_star(p, q, x[sel])
    return out


def conditional_c_of_g(class_probs, p_data_given_y, p_g_given_y) -> float:
    """C(G) of a conditional GAN: E_y E_x [log D*(x|y)] + E_y E_{x ~ p_g(.|y)}[log(1 - D*(x|y))], the labels
    y drawn from ``class_probs`` for real and fake samples alike. Computed from V at D*(.|y) class by class
    (not from a JSD), so that it can be checked against -log 4 + 2 E_y JSD(p(.|y), p_g(.|y)).

    Taught in: "Conditional GAN on MNIST" (chapter 6: the game for every label at once).
    """
    total = 0.0
    for w, p, q in zip(class_probs, p_data_given_y, p_g_given_y):
        total += w * value(lambda x, p=p, q=q: d_star_logit(p, q, x), p, q)
    return float(total)


def matching_aware_d_star(p_match, p_mismatch, p_g, x, fake_share: float = 0.5) -> np.ndarray:
    """The optimal *matching-aware* D (Reed et al. 2016, GAN-CLS) for one condition y.

    Positives: real samples of class y (``p_match`` = p(x|y)). Negatives: a share ``fake_share`` of fakes
    G(z, y) (``p_g``) and the rest real samples of another class (``p_mismatch`` = p(x|not y)). Then
    D*(x|y) = p(x|y) / (p(x|y) + fake_share p_g(x) + (1 - fake_share) p(x|not y)). ``x``: any shape.

    Taught in: "Conditional GAN on MNIST" (chapter 6: matching-aware discriminators).
    """
    lp = p_match.logpdf(x)
    lneg = _log_mix([(fake_share, p_g.logpdf(x)), (1.0 - fake_share, p_mismatch.logpdf(x))])
    return np.exp(lp - np.logaddexp(lp, lneg))


def matching_aware_c(p_match, p_mismatch, p_g, fake_share: float = 0.5) -> float:
    """C = E_{p(x|y)}[log D*] + E_{x ~ negatives}[log(1 - D*)] at the matching-aware D* (nats).

    The negatives are the mixture fake_share p_g + (1 - fake_share) p(x|not y), so C = -log 4 + 2 JSD(p(.|y),
    negatives). G can only move its share: its part of the objective is fake_share E_{p_g}[log(1 - D*)], and G
    *minimises* C (the same minimax game as Goodfellow's, with D maximising). Because the mismatched reals
    stay in the negatives, C cannot reach -log 4, and its minimiser over p_g is not p(x|y): G is pushed away
    from the other class.

    Taught in: "Conditional GAN on MNIST" (chapter 6).
    """
    def integrand(x):
        lp = p_match.logpdf(x)
        lneg = _log_mix([(fake_share, p_g.logpdf(x)), (1.0 - fake_share, p_mismatch.logpdf(x))])
        ls = np.logaddexp(lp, lneg)
        return _plogp_ratio(lp, ls) + _plogp_ratio(lneg, ls)
    lo = min(d.bounds(14.0)[0] for d in (p_match, p_mismatch, p_g))
    hi = max(d.bounds(14.0)[1] for d in (p_match, p_mismatch, p_g))
    points = np.unique(np.concatenate([d.breakpoints() for d in (p_match, p_mismatch, p_g)]))
    val, _ = integrate.quad(lambda t: float(integrand(np.array([t]))[0]), lo, hi, points=points, limit=1000,
                            epsabs=1e-13, epsrel=1e-12)
    return float(val)


def matching_aware_gradient(p_match, p_mismatch, family, theta: float, fake_share: float = 0.5,
                            h: float = 1e-4) -> dict:
    """The generator's view of the matching-aware game for p_g = ``family(theta)`` (scalar theta).

    Returns floats: ``c`` (:func:`matching_aware_c`), ``grad`` (dC/dtheta with D* re-optimised at every theta,
    central difference), ``grad_g_term`` (d/dtheta' of fake_share E_{family(theta')}[log(1 - D*)] with D*
    frozen at theta: what one G step differentiates). The two derivatives agree (D* is optimal, so D's own
    change does not count to first order).

    Taught in: "Conditional GAN on MNIST" (chapter 6).
    """
    p_g = family(theta)
    lo = min(d.bounds(14.0)[0] for d in (p_match, p_mismatch, p_g))
    hi = max(d.bounds(14.0)[1] for d in (p_match, p_mismatch, p_g))

    def g_term(t):
        q = family(t)

        def integrand(x):
            dd = matching_aware_d_star(p_match, p_mismatch, p_g, x, fake_share)
            return fake_share * q.pdf(x) * np.log1p(-dd)
        val, _ = integrate.quad(lambda s: float(integrand(np.array([s]))[0]), lo, hi,
                                points=np.unique(np.r_[q.breakpoints(), p_match.breakpoints(),
                                                       p_mismatch.breakpoints()]),
                                limit=1000, epsabs=1e-13, epsrel=1e-12)
        return val

    c = lambda t: matching_aware_c(p_match, p_mismatch, family(t), fake_share)  # noqa: E731
    return {"c": c(theta), "grad": _central_difference(c, theta, h),
            "grad_g_term": _central_difference(g_term, theta, h)}


def matching_aware_minimiser(p_match, p_mismatch, family, bounds=(-3.0, 3.0), fake_share: float = 0.5) -> tuple:
    """``(theta*, C(theta*))``: where the generator family ``family`` minimises :func:`matching_aware_c`
    (bounded Brent search over ``bounds``).

    Taught in: "Conditional GAN on MNIST" (chapter 6).
    """
    res = optimize.minimize_scalar(lambda t: matching_aware_c(p_match, p_mismatch, family(t), fake_share),
                                   bounds=bounds, method="bounded", options={"xatol": 1e-8})
    return float(res.x), float(res.fun)


# ---------------------------------------------------------------- 5. Frechet distance of two Gaussians
def _psd_sqrt(s: np.ndarray) -> np.ndarray:
    """The symmetric square root of a symmetric positive semi-definite matrix (eigenvalues clipped at 0)."""
    w, v = np.linalg.eigh(0.5 * (s + s.T))
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_gaussians(m1, s1, m2, s2) -> float:
    """||m1 - m2||^2 + Tr(S1 + S2 - 2 (S1 S2)^{1/2}): the Frechet (2-Wasserstein squared) distance of
    N(m1, S1) and N(m2, S2).

    ``m1``, ``m2``: mean vectors ``(d,)`` (or scalars); ``s1``, ``s2``: covariance matrices ``(d, d)`` (or
    scalar *variances* in 1-D, where the result is (m1 - m2)^2 + (sd1 - sd2)^2). Tr (S1 S2)^{1/2} is computed
    as Tr (S1^{1/2} S2 S1^{1/2})^{1/2} -- the same number, from symmetric matrices only.

    Taught in: "Challenges" (chapter 8: what the FID computes).
    """
    m1, m2 = np.atleast_1d(np.asarray(m1, dtype=np.float64)), np.atleast_1d(np.asarray(m2, dtype=np.float64))
    s1, s2 = np.atleast_2d(np.asarray(s1, dtype=np.float64)), np.atleast_2d(np.asarray(s2, dtype=np.float64))
    if not (m1.shape == m2.shape and s1.shape == s2.shape == (len(m1), len(m1))):
        raise ValueError(f"frechet_gaussians needs means (d,) and covariances (d, d); got {m1.shape}, "
                         f"{m2.shape}, {s1.shape}, {s2.shape}.")
    r1 = _psd_sqrt(s1)
    cross = np.trace(_psd_sqrt(r1 @ s2 @ r1))
    return float(np.sum((m1 - m2) ** 2) + np.trace(s1) + np.trace(s2) - 2.0 * cross)


# ---------------------------------------------------------------- 6. Proposition 2 (D kept optimal)
def proposition2_functional_descent(p_data, p_g0, n_steps: int = 40, step: float = 0.5, x=None,
                                    freeze_d: bool = False) -> dict:
    """Goodfellow's Proposition 2 on a grid: descend C(G) in p_g itself, re-optimising D before every step.

    p_g is a vector of density values on the evenly spaced grid ``x`` (default: 4001 points over both
    distributions, mean -/+ 10 std). At D = D* the functional derivative of V(D*, p_g) in p_g is
    g(x) = log(1 - D*(x)) (D's own change does not count: D* is optimal). A mirror-descent step keeps p_g
    a density: p_g <- p_g exp(-step g) / Z = p_g^{1 - step} (p_data + p_g)^{step} / Z. With step = 1 this
    is p_g <- (p_data + p_g) / 2. ``freeze_d=True`` keeps the first D* for all steps (what Proposition 2
    excludes): then p_g drifts to where p_data / p_g0 is largest and C rises towards 0 -- a collapse.

    Returns ``x`` (n,), ``p_g`` (n_steps + 1, n) densities, ``c`` (n_steps + 1,) C(G) in nats (Simpson's rule,
    against the *current* optimal D even when D is frozen), ``tv`` (n_steps + 1,) the total variation
    1/2 int |p_g - p_data|.

    Taught in: "The GAN game" (chapter 2: Proposition 2 and the convexity of C in p_g).
    """
    if x is None:
        x = support_grid(p_data, p_g0, n=4001, n_std=10.0)
    x = np.asarray(x, dtype=np.float64)
    lp = p_data.logpdf(x)
    lq = p_g0.logpdf(x)  # log space: no density underflows to 0 in the tails, so every step is defined
    lq = lq - math.log(integrate_grid(np.exp(lq - lq.max()), x)) - lq.max()
    g_frozen = None
    traj = [np.exp(lq)]
    for _ in range(n_steps):
        g = lq - np.logaddexp(lp, lq) if g_frozen is None else g_frozen  # log(1 - D*(x))
        if freeze_d:
            g_frozen = g
        lq = lq - step * g
        lq = lq - math.log(integrate_grid(np.exp(lq - lq.max()), x)) - lq.max()
        traj.append(np.exp(lq))
    p = np.exp(lp)
    traj = np.array(traj)
    c = np.array([c_of_g_on_grid(p, qi, x) for qi in traj])
    tv = np.array([0.5 * integrate_grid(np.abs(qi - p), x) for qi in traj])
    return {"x": x, "p_g": traj, "c": c, "tv": tv}


def proposition2_gaussian_descent(p_data, mu0: float = 3.0, std0: float = 0.4, n_steps: int = 200,
                                  lr: float = 1.0, x=None) -> dict:
    """Gradient descent on C(G) over the family p_g = N(mu, std^2), parameters (mu, log std), D kept optimal.

    The gradient is the envelope formula dC/dtheta = int dp_g/dtheta (x) log(1 - D*(x)) dx on a Simpson grid
    ``x`` (default: 8001 points covering p_data -/+ 12 std and the start mu0 -/+ 12 std0). When p_data is
    itself a Gaussian, C decreases to -log 4 and (mu, std) goes to p_data's.

    Returns ``params`` (n_steps + 1, 2) rows (mu, std), ``c`` (n_steps + 1,) C(G) in nats, ``grad``
    (n_steps + 1, 2) dC/d(mu, log std) at each row.

    Taught in: "The GAN game" (chapter 2), "Training, on a toy you can see" (chapter 3).
    """
    if x is None:
        lo, hi = p_data.bounds(12.0)
        x = np.linspace(min(lo, mu0 - 12 * std0), max(hi, mu0 + 12 * std0), 8001)
    x = np.asarray(x, dtype=np.float64)
    p = p_data.pdf(x)
    mu, log_s = float(mu0), math.log(std0)
    params, cs, grads = [], [], []
    for k in range(n_steps + 1):
        s = math.exp(log_s)
        zz = (x - mu) / s
        q = np.exp(-0.5 * zz ** 2) / (s * math.sqrt(2 * math.pi))
        with np.errstate(divide="ignore", invalid="ignore"):
            log_1md = np.where(q > 0, np.log(q) - np.log(p + q), 0.0)
        g = np.array([integrate_grid(q * zz / s * log_1md, x),             # dq/dmu = q (x - mu) / s^2
                      integrate_grid(q * (zz ** 2 - 1.0) * log_1md, x)])   # dq/dlog s = q ((x-mu)^2/s^2 - 1)
        params.append((mu, s))
        cs.append(c_of_g_on_grid(p, q, x))
        grads.append(g)
        if k < n_steps:
            mu, log_s = mu - lr * g[0], log_s - lr * g[1]
    return {"params": np.array(params), "c": np.array(cs), "grad": np.array(grads)}


# ---------------------------------------------------------------- 7. the Dirac-GAN (Mescheder et al. 2018)
def dirac_gan(theta0: float = 1.0, psi0: float = 1.0, n_steps: int = 500, lr: float = 0.1,
              mode: str = "simultaneous", r1_gamma: float = 0.0) -> np.ndarray:
    """Gradient play on the Dirac-GAN: p_data = delta_0, G outputs delta_theta, D(x) has logit psi x.

    V(psi, theta) = f(psi theta) + f(0) with f(t) = -log(1 + exp(-t)); D ascends V in psi, G descends it
    in theta. ``r1_gamma`` > 0 adds the R1 penalty gamma/2 E_data ||grad_x D||^2 = gamma/2 psi^2 to D's
    loss. ``mode``: "simultaneous" (both from the same point) or "alternating" (D first, then G against
    the new D). Returns the trajectory ``(n_steps + 1, 2)``, rows (theta, psi).

    Without a penalty the only equilibrium (0, 0) is never reached: simultaneous steps grow
    theta^2 + psi^2 by the factor 1 + lr^2 f'(psi theta)^2 every step (an outward spiral); alternating steps
    circle on bounded orbits. With R1 (gamma > 0) both converge to (0, 0).

    Taught in: "Challenges" (chapter 8: GAN training need not converge), "Training, on a toy you can see".
    """
    if mode not in ("simultaneous", "alternating"):
        raise ValueError(f"mode must be 'simultaneous' or 'alternating', not {mode!r}.")

    def fprime(t):  # f'(t) = sigmoid(-t)
        return 0.5 * (1.0 - math.tanh(0.5 * t))

    theta, psi = float(theta0), float(psi0)
    out = [(theta, psi)]
    for _ in range(n_steps):
        if mode == "simultaneous":
            g = fprime(psi * theta)
            theta, psi = theta - lr * psi * g, psi + lr * (theta * g - r1_gamma * psi)
        else:
            psi = psi + lr * (theta * fprime(psi * theta) - r1_gamma * psi)
            theta = theta - lr * psi * fprime(psi * theta)
        out.append((theta, psi))
    return np.array(out)


# ---------------------------------------------------------------- 8. densities pushed through piecewise-linear maps
def _pieces(knots, slopes, value_at_first_knot):
    knots = np.asarray(knots, dtype=np.float64).ravel()
    slopes = np.asarray(slopes, dtype=np.float64).ravel()
    if len(slopes) != len(knots) + 1 or np.any(np.diff(knots) <= 0):
        raise ValueError("A piecewise-linear map needs increasing knots and one slope more than knots.")
    at_knots = value_at_first_knot + np.concatenate([[0.0], np.cumsum(slopes[1:-1] * np.diff(knots))])
    anchors = np.concatenate([[knots[0]], knots])          # each piece's anchor knot z_i and G(z_i)
    anchor_vals = np.concatenate([[at_knots[0]], at_knots])
    edges = np.concatenate([[-np.inf], knots, [np.inf]])
    return slopes, anchors, anchor_vals, edges


def piecewise_linear(z, knots, slopes, value_at_first_knot: float = 0.0) -> np.ndarray:
    """A continuous piecewise-linear map G(z): slope ``slopes[i]`` on the i-th piece between consecutive
    ``knots`` (len(slopes) = len(knots) + 1, the outer pieces unbounded), G(knots[0]) = value_at_first_knot.

    E.g. a LeakyReLU unit c * leaky_relu(z, s) + b is ``knots=[0], slopes=[c s, c], value_at_first_knot=b``.
    ``z``: any shape; returns that shape.

    Taught in: "Training, on a toy you can see" (chapter 3).
    """
    slopes, anchors, anchor_vals, edges = _pieces(knots, slopes, value_at_first_knot)
    z = np.asarray(z, dtype=np.float64)
    i = np.searchsorted(edges, z, side="right") - 1
    return anchor_vals[i] + slopes[i] * (z - anchors[i])


def pushforward_density_piecewise_linear(x, knots, slopes, value_at_first_knot: float = 0.0,
                                         noise: str = "normal", low: float = -1.0, high: float = 1.0) -> np.ndarray:
    """The density of x = G(z) for the map :func:`piecewise_linear`: p_g(x) = sum over pieces i with a
    preimage z_i(x) in piece i of p_z(z_i) / |slope_i|, where z_i = z_anchor + (x - G(z_anchor)) / slope_i.

    ``noise``: "normal" (z ~ N(0, 1)) or "uniform" (z ~ U(low, high)). ``x``: any shape; returns that shape.
    On one piece, G(z) = a z + b and p_g(x) = p_z((x - b) / a) / |a|: constant for uniform noise, a rescaled
    Gaussian segment for normal noise. So "a LeakyReLU generator has a piecewise-constant density" holds only
    for uniform noise. Slopes must be non-zero (a flat piece would put a point mass).

    Taught in: "Training, on a toy you can see" (chapter 3: what a piecewise-linear generator can draw).
    """
    slopes, anchors, anchor_vals, edges = _pieces(knots, slopes, value_at_first_knot)
    if np.any(slopes == 0):
        raise ValueError("A slope of 0 maps a whole piece to one point: p_g has an atom, no density.")
    if noise == "normal":
        pz = lambda z: np.exp(-0.5 * z ** 2) / math.sqrt(2 * math.pi)  # noqa: E731
    elif noise == "uniform":
        if not high > low:
            raise ValueError("Uniform noise needs high > low.")
        pz = lambda z: np.where((z >= low) & (z <= high), 1.0 / (high - low), 0.0)  # noqa: E731
    else:
        raise ValueError(f"noise must be 'normal' or 'uniform', not {noise!r}.")
    x = np.asarray(x, dtype=np.float64)
    out = np.zeros(x.shape)
    for a, z0, g0, lo, hi in zip(slopes, anchors, anchor_vals, edges[:-1], edges[1:]):
        z = z0 + (x - g0) / a
        out += np.where((z >= lo) & (z < hi), pz(z) / abs(a), 0.0)
    return out
