"""Variations of the training step: each a small subclass of :class:`ganlib.train.GANStep` that overrides
one method, passed to ``gl.fit(..., step=...)``.

* :class:`FrozenG` -- D trains alone; G is never updated (D then learns D*; chapter 3).
* :class:`GradientProbe` -- D trains alone and the probe records how strong G's gradient *would* be under
  each loss (vanishing gradients, chapter 8).
* :class:`Unrolled` -- G updates against the D that D would become after K more steps of its own
  (Metz et al. 2017; mode collapse, chapter 8).

Variations that are loss terms (the matching-aware D, the mode-seeking term, the gradient penalty) are not
here: they live in ganlib.losses and the Config switches them on.

The unrolled GAN. G's surrogate loss is ``f_K(theta_G, theta_D) = L_G(theta_G, theta_D^K)``, where
``theta_D^0 = theta_D`` and ``theta_D^{k+1} = theta_D^k - eta * (update of D's optimiser on a fresh batch)``.
Its gradient has two terms:

    d f_K / d theta_G = dL_G/d theta_G (theta_D^K fixed)  +  dL_G/d theta_D^K . d theta_D^K / d theta_G

The second term says how D would *react* to a change of G; it is what discourages G from piling onto one
mode (D would punish that mode next). ``differentiable=False`` (cheap) keeps only the first term: a copy
of D (weights and optimiser state) takes ``unroll`` ordinary steps with G's samples detached.
``differentiable=True`` (Metz et al.) writes the unrolled steps as differentiable functions (a functional
Adam, RMSprop or SGD step, ``torch.func.functional_call``) and backpropagates G's loss through all of them.
Either way D's own weights and optimiser state are left exactly as they were.

Floor 3 (imports losses, train). Taught in: "Training" (D alone), "Challenges" (vanishing gradients, the
unrolled GAN).
"""
from __future__ import annotations

import copy

import torch
from torch import nn
from torch.func import functional_call

from . import losses as L
from .train import GANStep, Run


class FrozenG(GANStep):
    """G is never updated: the G step only reports ``loss_g`` and ``d_g_z2``. With it, ``fit`` trains D alone
    -- plain supervised training of a real-vs-fake classifier whose best answer is D*."""

    def g_step(self, run: Run) -> dict:
        n = run.batch
        z, y_fake = run.sample_z(n), run.sample_labels(n)
        with torch.no_grad():
            out = run.D(run.G(z, y_fake), y_fake)
            return {"loss_g": float(run.loss.g(out)), "d_g_z2": run.loss.stat(out)}


class GradientProbe(GANStep):
    """G is never updated; for every G update the probe records ``||grad_theta_G L_G||`` (over all of G's
    weights) for each loss in ``losses``, on the same batch, and the mean D(G(z)) (a probability).
    ``norms[name][i]`` and ``d_fake[i]`` belong to G update ``i``. Works for any G and D."""

    def __init__(self, losses=("minimax", "non-saturating")):
        self.losses = {name: L.get(name) for name in losses}
        self.norms = {name: [] for name in losses}
        self.d_fake = []

    def g_step(self, run: Run) -> dict:
        n = run.batch
        z, y_fake = run.sample_z(n), run.sample_labels(n)
        params = [p for p in run.G.parameters() if p.requires_grad]
        fake_out = run.D(run.G(z, y_fake), y_fake)
        for name, probe in self.losses.items():
            grads = torch.autograd.grad(probe.g(fake_out), params, retain_graph=True)
            self.norms[name].append(float(torch.sqrt(sum((g ** 2).sum() for g in grads))))
        self.d_fake.append(float(torch.sigmoid(fake_out.detach()).mean()))
        return {"loss_g": float(run.loss.g(fake_out.detach())), "d_g_z2": run.loss.stat(fake_out.detach())}


class Unrolled(GANStep):
    """G's update is measured against D unrolled ``unroll`` steps ahead (Metz et al.); D is untouched.

    Args:
        data: the training data (``len`` and ``get(index) -> (x, y)``): each unrolled D step draws its own
            real batch from it, with the run's RNG.
        unroll: K, the number of unrolled D steps (Metz et al. use 5 to 10 on the 2-D ring).
        differentiable: backpropagate through the unrolled steps (Metz et al.) or not (the cheap variant).
    """

    def __init__(self, data, unroll: int = 5, differentiable: bool = False):
        if unroll < 1:
            raise ValueError(f"unroll must be >= 1 (the plain step is GANStep), got {unroll}.")
        self.data, self.unroll, self.differentiable = data, unroll, differentiable

    def __repr__(self) -> str:
        kind = "differentiable (Metz et al.)" if self.differentiable else "cheap (no gradient through the unrolling)"
        return f"Unrolled(unroll={self.unroll}, {kind})"

    def _batch(self, run: Run, n: int):
        """A real batch ``(x (n, ...), y)`` for one unrolled D step, from the run's RNG."""
        x, y = self.data.get(torch.randint(len(self.data), (n,), generator=run.generator))
        return x.to(run.device), None if (y is None or not run.cfg.n_classes) else y.to(run.device)

    def g_opponent(self, run: Run, batch_size: int):
        """D after ``unroll`` steps of its optimiser, as a callable ``D_K(x, y=None) -> (B,)``; D is untouched.

        Cheap variant: a trained deep copy of D (no graph to G). Differentiable variant: a function of
        unrolled weights that are themselves functions of G's weights.
        """
        if run.world > 1:
            raise NotImplementedError("The unrolled step copies D and is not written for torchrun (DDP); "
                                      "train it in one process.")
        if self.differentiable:
            return self._lookahead_differentiable(run, batch_size)
        D_K = copy.deepcopy(run.D)
        opt_K = type(run.opt_d)(D_K.parameters(), **run.opt_d.defaults)
        # deepcopy: load_state_dict would otherwise share D's moment tensors and the steps below would change them
        opt_K.load_state_dict(copy.deepcopy(run.opt_d.state_dict()))
        for _ in range(self.unroll):
            x, y = self._batch(run, batch_size)
            self.d_step(run, x, y, D=D_K, opt_d=opt_K)
        return D_K

    def _lookahead_differentiable(self, run: Run, batch_size: int):
        G, D, loss = run.G, run.D, run.loss
        names = [name for name, _ in D.named_parameters()]
        params = {name: p.detach().clone().requires_grad_(True) for name, p in D.named_parameters()}
        buffers = {name: b.detach().clone() for name, b in D.named_buffers()}  # BatchNorm statistics: copies
        state = _optimizer_state(run.opt_d, D)

        def D_now(x, y=None, params_now=None):
            return functional_call(D, {**(params_now or params), **buffers}, (x, y))

        for _ in range(self.unroll):
            x, y = self._batch(run, batch_size)
            z, y_fake = run.sample_z(batch_size), run.sample_labels(batch_size)
            fake = G(z, y_fake)  # attached: theta_D^{k+1} depends on theta_G through these samples
            current = dict(params)
            loss_d = loss.d(D_now(x, y, current), D_now(fake, y_fake, current), run.cfg.real_label)
            if loss.gp_weight:
                loss_d = loss_d + loss.gp_weight * L.gradient_penalty(
                    lambda xx, c=None: D_now(xx, c, current), x, fake, y, run.generator)
            grads = torch.autograd.grad(loss_d, [params[n] for n in names], create_graph=True)
            for name, g in zip(names, grads):
                params[name] = state[name].update(params[name], g)
            if loss.clip is not None:
                params = {n: p.clamp(-loss.clip, loss.clip) for n, p in params.items()}
        final = dict(params)
        return lambda x, y=None: D_now(x, y, final)


# ---------------------------------------------------------------- differentiable optimiser steps
class _FunctionalState:
    """One parameter's optimiser state, stepped as a differentiable function (no in-place updates)."""

    def __init__(self, kind: str, group: dict, state: dict, param: torch.Tensor):
        self.kind, self.group = kind, group
        self.step = float(state.get("step", 0))
        zeros = torch.zeros_like(param)
        if kind == "adam":
            self.m = state.get("exp_avg", zeros).detach().clone()
            self.v = state.get("exp_avg_sq", zeros).detach().clone()
        elif kind == "rmsprop":
            self.v = state.get("square_avg", zeros).detach().clone()

    def update(self, p: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """The new value of parameter ``p`` after one step with gradient ``g`` (graphs kept)."""
        grp = self.group
        if grp.get("weight_decay", 0):
            g = g + grp["weight_decay"] * p
        self.step += 1
        if self.kind == "sgd":
            return p - grp["lr"] * g
        if self.kind == "rmsprop":
            self.v = grp["alpha"] * self.v + (1 - grp["alpha"]) * g * g
            return p - grp["lr"] * g / ((self.v + grp["eps"] ** 2).sqrt() + grp["eps"])
        beta1, beta2 = grp["betas"]
        self.m = beta1 * self.m + (1 - beta1) * g
        self.v = beta2 * self.v + (1 - beta2) * g * g
        m_hat = self.m / (1 - beta1 ** self.step)
        v_hat = self.v / (1 - beta2 ** self.step)
        # eps^2 under the root keeps the derivative of sqrt finite where v = 0 (a dead unit); a ~1e-8 change
        return p - grp["lr"] * m_hat / ((v_hat + grp["eps"] ** 2).sqrt() + grp["eps"])


def _optimizer_state(opt: torch.optim.Optimizer, D: nn.Module) -> dict:
    """``{param name: _FunctionalState}`` copying ``opt``'s state and settings for each of D's parameters."""
    if isinstance(opt, torch.optim.Adam) and not isinstance(opt, torch.optim.AdamW):
        kind = "adam"
    elif isinstance(opt, torch.optim.RMSprop):
        kind = "rmsprop"
    elif isinstance(opt, torch.optim.SGD):
        kind = "sgd"
    else:
        raise NotImplementedError(f"The differentiable unrolled step knows Adam, RMSprop and SGD, not "
                                  f"{type(opt).__name__}; use differentiable=False.")
    group_of = {id(p): g for g in opt.param_groups for p in g["params"]}
    out = {}
    for name, p in D.named_parameters():
        group = group_of.get(id(p))
        if group is None:
            raise ValueError(f"D's parameter {name!r} is not in D's optimiser: pass the optimiser of this D.")
        unsupported = [k for k in ("amsgrad", "centered", "nesterov", "maximize") if group.get(k)]
        if group.get("momentum", 0) or unsupported:
            raise NotImplementedError(f"The differentiable unrolled step does not support "
                                      f"{unsupported or ['momentum']} in {type(opt).__name__}; use differentiable=False.")
        out[name] = _FunctionalState(kind, group, opt.state.get(p, {}), p)
    return out
