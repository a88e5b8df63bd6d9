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
* the generator's gradient for the saturating and the non-saturating loss (:func:`generator_gradients`).

Densities are handled as logarithms where it matters: far in the tails p_data and p_g underflow to 0,
but their logs, and hence log D*, stay finite.

Taught in: "Generative models" (inverse-CDF sampling), "The GAN game" (every check of D* and C(G), the
saturating loss), "Training on a 1-D toy" (D* for the current generator).
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
