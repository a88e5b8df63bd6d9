"""GAN losses as pure functions of the discriminator's outputs (logits or critic scores).

Each loss is a :class:`Loss` with two functions, two flags and the settings of its paper:

* ``d(real_out, fake_out, real_label) -> scalar``: the loss the discriminator *minimises*;
* ``g(fake_out) -> scalar``: the loss the generator *minimises*;
* ``gp_weight``: weight of the WGAN-GP gradient penalty the D step adds (0: none);
* ``clip``: after each D step, clip D's weights to ``[-clip, clip]`` (WGAN); ``None``: no clipping;
* ``settings``: the Config fields its paper trains with (optimiser, learning rate, betas, ``k`` critic
  steps per G update), e.g. ``cfg.replace(loss="wgan", **get("wgan").settings)``; empty: the run's own.

``real_out`` and ``fake_out`` have shape ``(B,)``. For the cross-entropy losses they are logits and
``sigmoid(out)`` is D's probability; ``log D = -softplus(-t)`` and ``log(1 - D) = -softplus(t)``. For the
other losses they are raw scores: LSGAN regresses them onto targets, and a Wasserstein *critic*'s score is
no probability at all -- the difference of its means on real and fake is an estimate of the earth mover's
distance (scaled by the critic's Lipschitz constant).
Pick a loss by name with :func:`get` (e.g. ``get("non-saturating")``).

Taught in: "The GAN game" (minimax vs non-saturating), "Variants" (LSGAN, WGAN, WGAN-GP, hinge, side by side).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn


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
    """1/2 mean (D(x) - 1)^2 + 1/2 mean D(G(z))^2 on raw scores (source 004's l_D; Mao et al.'s a=0, b=1).

    ``real_label`` replaces the real target b = 1 (label smoothing works here too).
    """
    return 0.5 * ((real_out - real_label) ** 2).mean() + 0.5 * (fake_out ** 2).mean()


def g_least_squares(fake_out: torch.Tensor) -> torch.Tensor:
    """1/2 mean (D(G(z)) - 1)^2 (source 004's l_G; Mao et al.'s c = 1): G pulls its scores onto "real"."""
    return 0.5 * ((fake_out - 1.0) ** 2).mean()


# ---------------------------------------------------------------- Wasserstein (Arjovsky et al.; Gulrajani et al.)
def d_wasserstein(real_out: torch.Tensor, fake_out: torch.Tensor, real_label: float = 1.0) -> torch.Tensor:
    """mean f(G(z)) - mean f(x): minus the critic's estimate of the earth mover's distance.

    ``real_label`` is accepted for the common signature and ignored (a critic has no labels).
    """
    return fake_out.mean() - real_out.mean()


def g_wasserstein(fake_out: torch.Tensor) -> torch.Tensor:
    """-mean f(G(z)): G raises the critic's score of its samples (also the hinge loss's G side)."""
    return -fake_out.mean()


# ---------------------------------------------------------------- hinge (Lim & Ye; Miyato et al.)
def d_hinge(real_out: torch.Tensor, fake_out: torch.Tensor, real_label: float = 1.0) -> torch.Tensor:
    """mean relu(1 - D(x)) + mean relu(1 + D(G(z))): a margin of 1 on each side, zero gradient beyond it.

    ``real_label`` is accepted for the common signature and ignored.
    """
    return F.relu(1.0 - real_out).mean() + F.relu(1.0 + fake_out).mean()


# ---------------------------------------------------------------- the gradient penalty (Gulrajani et al.)
def interpolate(real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """x_hat_i = eps_i x_i + (1 - eps_i) x~_i with ONE eps_i ~ U[0, 1] per sample (shape ``(B, 1, ..., 1)``).

    ``real``, ``fake``: the same shape ``(B, ...)`` (images ``(B, C, H, W)`` or points ``(B, d)``); returns that
    shape, detached from both. Each x_hat_i lies on the straight segment between x~_i and x_i -- drawing eps per
    pixel (a bug seen in public code) would put it off that segment.
    """
    if real.shape != fake.shape:
        raise ValueError(f"The gradient penalty interpolates real and fake batches of the same shape; got "
                         f"{tuple(real.shape)} and {tuple(fake.shape)}. Use equal batch sizes.")
    eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), generator=generator).to(real.device, real.dtype)
    return eps * real.detach() + (1 - eps) * fake.detach()


def gradient_penalty(D: Callable, real: torch.Tensor, fake: torch.Tensor, y: torch.Tensor | None = None,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """WGAN-GP penalty mean_i (||grad_x D(x_hat_i)||_2 - 1)^2 at the points of :func:`interpolate`.

    ``eps`` is drawn once **per sample**, not per pixel, and the norm is taken **per sample** over all of
    its pixels -- two bugs common in public code. ``real``, ``fake``: ``(B, ...)``; ``y``: labels ``(B,)`` for
    a conditional critic. The graph is kept (``create_graph``), so the penalty trains D's weights. D must
    treat samples independently (no BatchNorm: see :func:`check_critic`).
    """
    x_hat = interpolate(real, fake, generator).requires_grad_(True)
    out = D(x_hat, y) if y is not None else D(x_hat)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1.0) ** 2).mean()


def check_critic(D: nn.Module, loss: "Loss | str") -> bool:
    """Warn (and return False) when ``D`` contains BatchNorm and ``loss`` has a gradient penalty.

    BatchNorm makes each sample's score depend on the rest of the batch, so the per-sample gradient the
    penalty constrains is not the critic's (Gulrajani et al. drop it; use LayerNorm or no normalisation).
    """
    loss = get(loss)
    norms = [type(m).__name__ for m in D.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if loss.gp_weight and norms:
        warnings.warn(f"The {loss.name!r} loss penalises per-sample gradients, but the critic has "
                      f"{len(norms)} BatchNorm layer(s) ({norms[0]}), which mix the samples of a batch. "
                      "Use a critic without BatchNorm (e.g. arch='mlp', or the toy2d MLPs).", stacklevel=2)
        return False
    return True


# ---------------------------------------------------------------- loss terms of the conditional GAN
def wrong_labels(y: torch.Tensor, n_classes: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """For labels ``y (B,)``, labels ``(B,)`` drawn uniformly from the *other* ``n_classes - 1`` classes."""
    shift = torch.randint(1, n_classes, y.shape, generator=generator).to(y.device)
    return (y + shift) % n_classes


def matching_aware(loss: "Loss", real_out: torch.Tensor, fake_out: torch.Tensor, mismatch_out: torch.Tensor,
                   real_label: float = 1.0) -> torch.Tensor:
    """The matching-aware discriminator's loss (Reed et al. 2016): real images with *wrong* labels count as
    fake, next to G's fakes, so that D must check whether image and label belong together.

    ``(loss.d(D(x|y), D(G(z|y')|y')) + loss.d(D(x|y), D(x|wrong)))/2``; for the cross-entropy losses
    ``-log D(x|y) - 1/2 log(1 - D(G(z|y')|y')) - 1/2 log(1 - D(x|wrong))``. All outputs ``(B,)``. It moves
    D*'s optimum (the negatives are half fakes, half real images of other classes): p_g = p(x|y) is an
    optimum only approximately, for well-separated classes (chapter 6 shows how far it moves).
    """
    return 0.5 * (loss.d(real_out, fake_out, real_label) + loss.d(real_out, mismatch_out, real_label))


def pair_labels(y: torch.Tensor) -> torch.Tensor:
    """Labels ``(B,)`` whose second half repeats the first: samples ``i`` and ``i + B//2`` share a label."""
    half = y.shape[0] // 2
    return torch.cat([y[:half], y[:half], y[2 * half:]])


def mode_seeking(fake: torch.Tensor, z: torch.Tensor, weight: float = 1.0, eps: float = 1e-5) -> torch.Tensor:
    """The mode-seeking term of Mao et al. 2019, ``weight / (ms + eps)``, against a generator that ignores z.

    ``fake (B, ...)`` made from ``z (B, nz)`` with :func:`pair_labels`: samples ``i`` and ``i + B//2`` share a
    label, not a noise vector; ``ms = mean|G(z1) - G(z2)| / mean|z1 - z2|`` is small when two noise vectors
    give the same picture, and the term then grows. It depends on p_g, so it too moves the optimum a little.
    """
    half = z.shape[0] // 2
    ms = (fake[:half] - fake[half:2 * half]).abs().mean() / (z[:half] - z[half:2 * half]).abs().mean()
    return weight / (ms + eps)


# ---------------------------------------------------------------- the catalogue
@dataclass(frozen=True)
class Loss:
    """A GAN loss: D's and G's objectives (both minimised), the extras its D step needs, its paper's settings."""

    name: str
    d: Callable[..., torch.Tensor]        # (real_out, fake_out, real_label) -> scalar
    g: Callable[[torch.Tensor], torch.Tensor]  # fake_out -> scalar
    probabilities: bool = True            # sigmoid(out) is a probability (report D(x) as one)
    gp_weight: float = 0.0                # lambda of the WGAN-GP gradient penalty
    clip: float | None = None             # WGAN weight clipping bound
    settings: dict = field(default_factory=dict, compare=False)  # Config fields of the loss's paper

    def stat(self, out: torch.Tensor) -> torch.Tensor:
        """The number logged as D(x) / D(G(z)), as a 0-dim float tensor on ``out``'s device (no host sync):
        mean probability, or mean score for critics."""
        return (torch.sigmoid(out.float()) if self.probabilities else out.float()).mean().detach()


# Arjovsky et al. 2017, Algorithm 1: RMSProp (momentum-based optimisers made the critic unstable),
# lr 5e-5, n_critic 5, clip 0.01. Gulrajani et al. 2017, Algorithm 1: Adam lr 1e-4, betas (0, 0.9),
# n_critic 5, lambda 10.
WGAN_SETTINGS = dict(optimizer="rmsprop", lr=5e-5, k=5)
WGAN_GP_SETTINGS = dict(optimizer="adam", lr=1e-4, beta1=0.0, beta2=0.9, k=5)

LOSSES: dict[str, Loss] = {
    "minimax": Loss("minimax", d_cross_entropy, g_minimax),
    "non-saturating": Loss("non-saturating", d_cross_entropy, g_non_saturating),
    "lsgan": Loss("lsgan", d_least_squares, g_least_squares, probabilities=False),
    "wgan": Loss("wgan", d_wasserstein, g_wasserstein, probabilities=False, clip=0.01, settings=WGAN_SETTINGS),
    "wgan-gp": Loss("wgan-gp", d_wasserstein, g_wasserstein, probabilities=False, gp_weight=10.0,
                    settings=WGAN_GP_SETTINGS),
    "hinge": Loss("hinge", d_hinge, g_wasserstein, probabilities=False),
}


def get(name: str | Loss) -> Loss:
    """The loss called ``name`` (case and ``_``/``-`` do not matter); an unknown name lists the valid ones."""
    if isinstance(name, Loss):
        return name
    key = str(name).strip().lower().replace("_", "-")
    try:
        return LOSSES[key]
    except KeyError:
        raise KeyError(f"Unknown loss {name!r}; choose one of: {', '.join(LOSSES)}.") from None


# ---------------------------------------------------------------- differentiable augmentation (Zhao et al. 2020)
# DiffAugment: D is shown T(x) for real AND fake images, in D's step and in G's step, with T random and
# differentiable, so that G's gradient flows through T. Showing D augmented reals only would teach G to draw
# augmented digits; augmenting both changes what D can memorise, not what G aims at. Like the losses, it is
# part of the objective (StyleGAN2-ADA puts its augmentation inside its Loss object); GANStep.view applies it
# when ``cfg.augment`` names a policy.
def translate(x: torch.Tensor, generator: torch.Generator | None = None, ratio: float = 0.125,
              fill: float = -1.0) -> torch.Tensor:
    """Each image of ``x (B, C, H, W)`` moved by its own random whole-pixel shift of up to ``ratio`` of its
    side in each direction (32 px: up to 4 px); pixels moved in from outside are ``fill`` (-1: the black
    background of [-1, 1] digits; Zhao et al.'s code fills 0). Returns ``(B, C, H, W)``; differentiable in x."""
    B, C, H, W = x.shape
    sh, sw = int(H * ratio + 0.5), int(W * ratio + 0.5)
    dy = torch.randint(-sh, sh + 1, (B, 1, 1), generator=generator)
    dx = torch.randint(-sw, sw + 1, (B, 1, 1), generator=generator)
    padded = F.pad(x, (sw, sw, sh, sh), value=fill).permute(0, 2, 3, 1)          # (B, H + 2sh, W + 2sw, C)
    rows = (torch.arange(H).view(1, H, 1) + sh - dy).to(x.device)                # out[i, j] = x[i - dy, j - dx]
    cols = (torch.arange(W).view(1, 1, W) + sw - dx).to(x.device)
    batch = torch.arange(B, device=x.device).view(B, 1, 1)
    return padded[batch, rows, cols].permute(0, 3, 1, 2)


def cutout(x: torch.Tensor, generator: torch.Generator | None = None, ratio: float = 0.5,
           fill: float = -1.0) -> torch.Tensor:
    """Each image of ``x (B, C, H, W)`` with a square of side ``ratio`` of its side (32 px: 16 px), at a random
    centre (the square may stick out of the image), set to ``fill`` (DeVries & Taylor 2017's cutout, as
    DiffAugment uses it). Returns ``(B, C, H, W)``; the gradient is x's outside the square, 0 inside."""
    B, C, H, W = x.shape
    ch, cw = int(H * ratio + 0.5), int(W * ratio + 0.5)
    top = torch.randint(0, H + 1 - ch % 2, (B, 1, 1), generator=generator) - ch // 2
    left = torch.randint(0, W + 1 - cw % 2, (B, 1, 1), generator=generator) - cw // 2
    rows, cols = torch.arange(H).view(1, H, 1), torch.arange(W).view(1, 1, W)
    inside = (rows >= top) & (rows < top + ch) & (cols >= left) & (cols < left + cw)   # (B, H, W)
    return torch.where(inside.unsqueeze(1).to(x.device), torch.full_like(x, fill), x)


AUGMENTATIONS: dict[str, Callable] = {"translation": translate, "cutout": cutout}


def diff_augment(x: torch.Tensor, policy: str, generator: torch.Generator | None = None) -> torch.Tensor:
    """DiffAugment (Zhao et al. 2020): ``x (B, C, H, W)`` through each augmentation named in ``policy`` (a comma
    list of :data:`AUGMENTATIONS`, e.g. ``"translation,cutout"``), each image with its own random draw from
    ``generator``. Returns ``(B, C, H, W)``; differentiable in ``x``. ``""`` returns ``x`` itself."""
    for name in filter(None, (p.strip() for p in policy.split(","))):
        if name not in AUGMENTATIONS:
            raise ValueError(f"Unknown augmentation {name!r} in policy {policy!r}; use {', '.join(AUGMENTATIONS)}.")
        x = AUGMENTATIONS[name](x, generator)
    return x
