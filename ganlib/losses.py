"""GAN losses as pure functions of the discriminator's outputs (logits or critic scores).

Each loss is a :class:`Loss` with two functions and two flags:

* ``d(real_out, fake_out, real_label) -> scalar``: the loss the discriminator *minimises*;
* ``g(fake_out) -> scalar``: the loss the generator *minimises*;
* ``gp_weight``: weight of the WGAN-GP gradient penalty the D step adds (0: none);
* ``clip``: after each D step, clip D's weights to ``[-clip, clip]`` (WGAN); ``None``: no clipping.

``real_out`` and ``fake_out`` have shape ``(B,)``. For the cross-entropy losses they are logits and
``sigmoid(out)`` is D's probability; ``log D = -softplus(-t)`` and ``log(1 - D) = -softplus(t)``.
Pick a loss by name with :func:`get` (e.g. ``get("non-saturating")``).

Taught in: "The GAN game" (minimax vs non-saturating), "Variants" (LSGAN, WGAN, WGAN-GP, hinge).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


# ---------------------------------------------------------------- cross-entropy (Goodfellow et al. 2014)
def d_cross_entropy(real_out: torch.Tensor, fake_out: torch.Tensor, real_label: float = 1.0) -> torch.Tensor:
    """-[mean log D(x) + mean log(1 - D(G(z)))], the tutorial's Loss_D = errD_real + errD_fake.

    ``real_label`` < 1 is one-sided label smoothing (source 000 uses 0.9): only the real target moves.
    At logits 0 (D = 1/2 everywhere) it equals 2 ln 2.
    """
    return _bce(real_out, real_label) + _bce(fake_out, 0.0)


def g_minimax(fake_out: torch.Tensor) -> torch.Tensor:
    """mean log(1 - D(G(z))): the generator's side of the zero-sum game (saturates when D(G(z)) -> 0)."""
    return -_bce(fake_out, 0.0)


def g_non_saturating(fake_out: torch.Tensor) -> torch.Tensor:
    """-mean log D(G(z)): the heuristic loss; the same fixed point, strong gradients early on."""
    return _bce(fake_out, 1.0)


# ---------------------------------------------------------------- least squares (Mao et al.; source 004)
def d_least_squares(real_out: torch.Tensor, fake_out: torch.Tensor, real_label: float = 1.0) -> torch.Tensor:
    """1/2 mean (D(x) - 1)^2 + 1/2 mean D(G(z))^2 on raw scores (source 004's l_D)."""
    return 0.5 * ((real_out - real_label) ** 2).mean() + 0.5 * (fake_out ** 2).mean()


def g_least_squares(fake_out: torch.Tensor) -> torch.Tensor:
    """1/2 mean (D(G(z)) - 1)^2 (source 004's l_G)."""
    return 0.5 * ((fake_out - 1.0) ** 2).mean()


# ---------------------------------------------------------------- Wasserstein (Arjovsky et al.; Gulrajani et al.)
def d_wasserstein(real_out: torch.Tensor, fake_out: torch.Tensor, real_label: float = 1.0) -> torch.Tensor:
    """mean f(G(z)) - mean f(x): minus the critic's estimate of the earth mover's distance."""
    return fake_out.mean() - real_out.mean()


def g_wasserstein(fake_out: torch.Tensor) -> torch.Tensor:
    """-mean f(G(z))."""
    return -fake_out.mean()


# ---------------------------------------------------------------- hinge (Lim & Ye; Miyato et al.)
def d_hinge(real_out: torch.Tensor, fake_out: torch.Tensor, real_label: float = 1.0) -> torch.Tensor:
    """mean relu(1 - D(x)) + mean relu(1 + D(G(z)))."""
    return F.relu(1.0 - real_out).mean() + F.relu(1.0 + fake_out).mean()


def gradient_penalty(D: Callable, real: torch.Tensor, fake: torch.Tensor, y: torch.Tensor | None = None,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """WGAN-GP penalty mean_i (||grad_x D(x_hat_i)||_2 - 1)^2 with x_hat_i = eps_i x_i + (1 - eps_i) x~_i.

    ``eps`` is drawn once **per sample** (shape ``(B, 1, 1, 1)``), not per pixel, and the norm is taken
    **per sample** over all of its pixels -- two bugs common in public code. ``real``, ``fake``: ``(B, C, H, W)``.
    """
    eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), generator=generator).to(real.device)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    out = D(x_hat, y) if y is not None else D(x_hat)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1.0) ** 2).mean()


@dataclass(frozen=True)
class Loss:
    """A GAN loss: D's and G's objectives (both minimised) and the extras its D step needs."""

    name: str
    d: Callable[..., torch.Tensor]        # (real_out, fake_out, real_label) -> scalar
    g: Callable[[torch.Tensor], torch.Tensor]  # fake_out -> scalar
    probabilities: bool = True            # sigmoid(out) is a probability (report D(x) as one)
    gp_weight: float = 0.0                # lambda of the WGAN-GP gradient penalty
    clip: float | None = None             # WGAN weight clipping bound

    def stat(self, out: torch.Tensor) -> float:
        """The number logged as D(x) / D(G(z)): mean probability, or mean score for critics."""
        return float((torch.sigmoid(out) if self.probabilities else out).mean())


LOSSES: dict[str, Loss] = {
    "minimax": Loss("minimax", d_cross_entropy, g_minimax),
    "non-saturating": Loss("non-saturating", d_cross_entropy, g_non_saturating),
    "lsgan": Loss("lsgan", d_least_squares, g_least_squares, probabilities=False),
    "wgan": Loss("wgan", d_wasserstein, g_wasserstein, probabilities=False, clip=0.01),
    "wgan-gp": Loss("wgan-gp", d_wasserstein, g_wasserstein, probabilities=False, gp_weight=10.0),
    "hinge": Loss("hinge", d_hinge, g_wasserstein, probabilities=False),
}


def get(name: str | Loss) -> Loss:
    """The loss called ``name``; an unknown name lists the valid ones."""
    if isinstance(name, Loss):
        return name
    try:
        return LOSSES[name]
    except KeyError:
        raise KeyError(f"Unknown loss {name!r}; choose one of: {', '.join(LOSSES)}.") from None
