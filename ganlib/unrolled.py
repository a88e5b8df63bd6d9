"""Unrolled GAN (Metz et al. 2017): G updates against the discriminator D would become after ``unroll``
more steps of its own, instead of against today's D.

G's surrogate loss is ``f_K(theta_G, theta_D) = L_G(theta_G, theta_D^K)``, where ``theta_D^0 = theta_D`` and
``theta_D^{k+1} = theta_D^k - eta * (update of D's optimiser on a fresh batch)``. Its gradient has two terms:

    d f_K / d theta_G = dL_G/d theta_G (theta_D^K fixed)  +  dL_G/d theta_D^K . d theta_D^K / d theta_G

The second term says how D would *react* to a change of G; it is what discourages G from piling onto
one mode (D would punish that mode next). Two variants here:

* ``differentiable=False`` (the cheap one, the default): only the first term. D is copied (weights and
  optimiser state), the copy takes ``unroll`` ordinary steps with G's samples detached, and G steps on
  its loss against that "lookahead" D. Cheap, and it already helps, but it is not Metz et al.'s method.
* ``differentiable=True``: both terms, as in the paper: the unrolled steps are written as differentiable
  functions (a functional Adam, RMSprop or SGD step, ``torch.func.functional_call``) with the fakes
  attached to G's graph, and G's loss is backpropagated through all of them (on the 2-D lab about 1.5 times
  the cheap variant's time per G update).

Either way, D's own weights and optimiser state are left exactly as they were: only fit's D step trains D.

Taught in: "Challenges" (mode collapse; the unrolled GAN as a remedy).
"""
from __future__ import annotations

import copy

import torch
from torch import nn
from torch.func import functional_call

from . import losses as L
from .train import d_step, g_step


class UnrolledGStep:
    """A ``g_step_fn`` for :func:`ganlib.train.fit` (same signature as :func:`ganlib.train.g_step`).

    ``fit`` hands it the run (``bind``) before training; from the run it takes D's optimiser (whose
    state the unrolled copy starts from), the run's RNG and noise sampler (fresh real batches and noise
    for each unrolled step), and ``cfg.real_label``. Outside ``fit`` call :meth:`bind` yourself, or pass
    ``opt_d`` (and optionally ``generator``, ``nz``) to the constructor.

    Args:
        data: the training data (``ImageData`` / ``TensorData``: ``len`` and ``get(index) -> (x, y)``).
        unroll: K, the number of unrolled D steps (Metz et al. use 5 to 10 on the 2-D ring; 0 is plain g_step).
        differentiable: backpropagate through the unrolled steps (Metz et al.) or not (the cheap variant).
    """

    def __init__(self, data, unroll: int = 5, differentiable: bool = False, opt_d: torch.optim.Optimizer | None = None,
                 generator: torch.Generator | None = None, nz: int | None = None, real_label: float = 1.0):
        if unroll < 0:
            raise ValueError(f"unroll must be >= 0 (0 is the ordinary G step), got {unroll}.")
        self.data, self.unroll, self.differentiable = data, unroll, differentiable
        self.opt_d, self.generator, self.nz, self.real_label = opt_d, generator, nz, real_label
        self.run = None

    def bind(self, run) -> None:
        """Take D's optimiser, the RNG and ``cfg.real_label`` from a :class:`ganlib.train.Run` (fit calls this)."""
        self.run, self.opt_d, self.generator = run, run.opt_d, run.generator
        self.nz, self.real_label = run.cfg.nz, run.cfg.real_label

    def __repr__(self) -> str:
        kind = "differentiable (Metz et al.)" if self.differentiable else "cheap (no gradient through the unrolling)"
        return f"UnrolledGStep(unroll={self.unroll}, {kind})"

    # ------------------------------------------------------------ fresh batches for the unrolled steps
    def _batch(self, n: int, device: torch.device):
        """A real batch ``(x (n, ...), y)``, noise ``z (n, nz)`` and fake labels for one unrolled D step."""
        idx = torch.randint(len(self.data), (n,), generator=self.generator)
        x, y = self.data.get(idx)
        if self.run is not None:
            z, y_fake = self.run.sample_z(n), self.run.sample_labels(n)
            if not self.run.cfg.n_classes:
                y = None
        else:
            z, y_fake = torch.randn(n, self.nz, generator=self.generator, dtype=x.dtype), None
            y = None
        return x.to(device), None if y is None else y.to(device), z.to(device), y_fake

    # ------------------------------------------------------------ the G step
    def __call__(self, G: nn.Module, D: nn.Module, opt_g: torch.optim.Optimizer, z: torch.Tensor, loss: L.Loss,
                 y_fake: torch.Tensor | None = None) -> dict:
        """One G update against D unrolled ``unroll`` steps; returns ``loss_g`` and ``d_g_z2``.

        ``z (B, nz)``: G's noise; each unrolled D step draws its own ``B`` real points and noise. ``loss_g``
        and ``d_g_z2`` are measured against the unrolled D (the one G trained against).
        """
        if self.opt_d is None:
            raise RuntimeError("UnrolledGStep needs D's optimiser: pass it to fit as g_step_fn (fit calls bind), "
                               "or call step.bind(run) / construct it with opt_d=...")
        loss = L.get(loss)
        D_K = self.lookahead(G, D, loss, z.shape[0])
        return g_step(G, D_K, opt_g, z, loss, y_fake)  # the ordinary G step, against the unrolled D

    def lookahead(self, G: nn.Module, D: nn.Module, loss: L.Loss, batch_size: int):
        """D after ``unroll`` steps of its optimiser, as a callable ``D_K(x, y=None) -> (B,)``; D is untouched.

        Cheap variant: a trained deep copy of D (no graph to G). Differentiable variant: a function of
        unrolled weights that are themselves functions of G's weights.
        """
        device = next(D.parameters()).device
        if self.differentiable:
            return self._lookahead_differentiable(G, D, loss, batch_size, device)
        D_K = copy.deepcopy(D)
        opt_K = type(self.opt_d)(D_K.parameters(), **self.opt_d.defaults)
        # deepcopy: load_state_dict would otherwise share D's moment tensors and the steps below would change them
        opt_K.load_state_dict(copy.deepcopy(self.opt_d.state_dict()))
        for _ in range(self.unroll):
            x, y, z, y_fake = self._batch(batch_size, device)
            d_step(G, D_K, opt_K, x, z, loss, self.real_label, y, y_fake, self.generator)
        return D_K

    def _lookahead_differentiable(self, G, D, loss, batch_size, device):
        names = [name for name, _ in D.named_parameters()]
        params = {name: p.detach().clone().requires_grad_(True) for name, p in D.named_parameters()}
        buffers = {name: b.detach().clone() for name, b in D.named_buffers()}  # BatchNorm statistics: copies
        state = _optimizer_state(self.opt_d, D)

        def D_now(x, y=None, params_now=None):
            return functional_call(D, {**(params_now or params), **buffers}, (x, y))

        for _ in range(self.unroll):
            x, y, z, y_fake = self._batch(batch_size, device)
            fake = G(z, y_fake)  # attached: theta_D^{k+1} depends on theta_G through these samples
            current = dict(params)
            loss_d = loss.d(D_now(x, y, current), D_now(fake, y_fake, current), self.real_label)
            if loss.gp_weight:
                loss_d = loss_d + loss.gp_weight * L.gradient_penalty(
                    lambda xx, c=None: D_now(xx, c, current), x, fake, y, self.generator)
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


def unrolled_g_step(data, unroll: int = 5, differentiable: bool = False, **kwargs) -> UnrolledGStep:
    """The unrolled G step for ``fit(..., g_step_fn=unrolled_g_step(data, unroll=5))``; see :class:`UnrolledGStep`."""
    return UnrolledGStep(data, unroll=unroll, differentiable=differentiable, **kwargs)
