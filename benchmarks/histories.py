"""Same seed, same History: every training run the notebooks make at ``quick`` size, captured and compared.

Used to check that a refactor of ganlib keeps behaviour bit for bit. Capture on one version, capture on the
other, compare::

    GANLIB_SIZE=quick GANLIB_DATA=/tmp/hdata OMP_NUM_THREADS=1 MPLBACKEND=Agg \
        .venv/bin/python benchmarks/histories.py capture /tmp/histories_new.pt
    .venv/bin/python benchmarks/histories.py compare BASELINE.pt /tmp/histories_new.pt

Every call of ``fit`` (direct, or through toy2d.lab_run, variants.compare, variants.shift_experiment) is
wrapped; each gets a key ``"NN|preset|cfg.name|cfg.loss|k=K|where"`` and a record: the History, hashes of its
snapshot frames, step / epoch / epoch_pos, sha256 of G's and D's final weights, of both optimisers' states
and of the run's RNG state, and a hash of the data. Non-fit results (quantile-map losses, lab metrics and
traces, JSD / W1 trackers, probe norms, shift readings) are kept under ``"extras"``. ``History.seconds`` is
wall time: only its length is compared. The sequence mirrors the notebooks (same builds and fits in the
same order). The baseline for the reorganisation of ganlib was captured on commit 839c4b6 with one intended
change applied (an epoch with fewer than k batches left ends without D steps); see the closing note.
"""
from __future__ import annotations

import copy
import hashlib
import math
import os
import sys
import shutil
import time

import numpy as np
import torch

STATS_EXACT = ("loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2", "epoch", "snapshot_steps")


# ---------------------------------------------------------------- hashing
def _array(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().contiguous().numpy()
    return np.ascontiguousarray(np.asarray(x))


def sha_array(x) -> str:
    """sha256 of dtype, shape and raw bytes of a tensor / array."""
    a = _array(x)
    h = hashlib.sha256()
    h.update(f"{a.dtype.str}|{a.shape}|".encode())
    h.update(a.tobytes())
    return h.hexdigest()


def sha_tree(obj) -> str:
    """sha256 of a nested structure of dicts / lists / tensors / numbers (state_dicts, optimiser states)."""
    h = hashlib.sha256()

    def walk(o):
        if isinstance(o, dict):
            h.update(b"{")
            for k in sorted(o, key=str):
                h.update(repr(k).encode() + b":")
                walk(o[k])
            h.update(b"}")
        elif isinstance(o, (list, tuple)):
            h.update(b"[")
            for v in o:
                walk(v)
            h.update(b"]")
        elif isinstance(o, (torch.Tensor, np.ndarray)):
            h.update(sha_array(o).encode())
        else:
            h.update(repr(o).encode())

    walk(obj)
    return h.hexdigest()


def sha_data(data) -> str:
    for name in ("images", "x"):
        t = getattr(data, name, None)
        if isinstance(t, torch.Tensor):
            labels = getattr(data, "labels", None)
            return sha_tree({"x": t, "labels": labels if isinstance(labels, torch.Tensor) else None})
    return f"unhashed:{type(data).__name__}"


def _fn_name(fn) -> str | None:
    if fn is None:
        return None
    return getattr(fn, "__qualname__", None) or type(fn).__qualname__


# ---------------------------------------------------------------- capture
def capture(out_path: str) -> dict:
    import ganlib as gl
    import ganlib.train as T
    from ganlib import conditional, config, faces, steps, toy1d, toy2d, variants  # noqa: F401

    assert config.size() == "quick", "set GANLIB_SIZE=quick"
    torch.set_num_threads(1)

    records: dict = {}
    extras: dict = {}
    ctx = {"preset": None, "where": None}
    orig_fit = T.fit
    ckdir = os.path.splitext(os.path.abspath(out_path))[0] + "_checkpoints"  # fresh, removed at the end
    shutil.rmtree(ckdir, ignore_errors=True)
    os.makedirs(ckdir)

    def fit_wrapper(G, D, data, cfg, checkpoint=None, **kw):
        kw["progress"] = False
        if checkpoint is not None:  # a fresh path: never resumes
            checkpoint = os.path.join(ckdir, f"{len(records):02d}-{os.path.basename(str(checkpoint))}")
        data_sha = sha_data(data)
        run = orig_fit(G, D, data, cfg, checkpoint=checkpoint, **kw)
        where = ctx["where"]
        if type(G).__name__ == "ShiftedBlob":  # variants.shift_experiment: one run per shift d
            where = f"{where}:d={float(G.shift[0])}"
        key = f"{len(records):02d}|{ctx['preset']}|{cfg.name}|{cfg.loss}|k={cfg.k}|{where}"
        h = run.history.to_dict()
        records[key] = {
            "preset": ctx["preset"], "where": where, "data_len": len(data), "data_sha": data_sha,
            "history": h, "snapshot_sha": [sha_array(f) for f in h["snapshots"]],
            "step": run.step, "epoch": run.epoch, "epoch_pos": run.epoch_pos,
            "G_sha": sha_tree(run.G.state_dict()), "D_sha": sha_tree(run.D.state_dict()),
            "opt_g_sha": sha_tree(run.opt_g.state_dict()), "opt_d_sha": sha_tree(run.opt_d.state_dict()),
            "rng_sha": sha_array(run.generator.get_state()),
        }
        print(f"  captured {key}: {run.step} G updates, epoch {run.epoch}, {len(h['snapshots'])} frames", flush=True)
        return run

    T.fit = gl.fit = fit_wrapper
    toy2d.fit = variants.fit = fit_wrapper  # both did `from .train import fit`

    def at(preset, where):
        ctx["preset"], ctx["where"] = preset, where

    t_all = time.perf_counter()
    timings = {}

    # ---- notebook 01: inverse-cdf-mlp (toy1d.fit_quantile_map; a regression, no fit call)
    t0 = time.perf_counter()
    cfg = gl.preset("inverse-cdf-mlp")
    p = toy1d.p_data(cfg)
    x_data = torch.from_numpy(p.sample(cfg.n_train, cfg.seed))
    G, _ = gl.models.build(cfg)
    losses = toy1d.fit_quantile_map(G, x_data, steps=cfg.max_steps, batch_size=cfg.batch_size, lr=cfg.lr, seed=cfg.seed)
    levels = (np.arange(20_000) + 0.5) / 20_000
    learned = toy1d.generate(G, torch.from_numpy(levels).float()[:, None])
    extras["inverse-cdf-mlp|nb01:fit_quantile_map"] = {
        "losses": losses, "G_sha": sha_tree(G.state_dict()),
        "w1": gl.metrics.wasserstein1(learned, p.ppf(levels))}
    timings["nb01"] = time.perf_counter() - t0

    # ---- notebook 03: toy1d (k=5 main run, D-only phase continuing it, k=1 and k=2 runs)
    t0 = time.perf_counter()
    cfg = gl.preset("toy1d")
    p_data = toy1d.p_data(cfg)
    axis = toy1d.Axis.from_config(cfg)
    data = toy1d.dataset(p_data, cfg.n_train, seed=cfg.seed)
    G, D = gl.models.build(cfg)
    jsd_callbacks, jsd_k5 = toy1d.jsd_tracker(p_data, axis, every=cfg.chapter.jsd_every)
    at("toy1d", "nb03:main")
    run = gl.fit(G, D, data, cfg, snapshot=toy1d.snapshotter(p_data, axis), callbacks=jsd_callbacks)
    frozen = toy1d.frozen_config(cfg)
    g_before = [q.detach().clone() for q in run.G.parameters()]
    D_alone = copy.deepcopy(run.D)
    at("toy1d", "nb03:frozen-D-only")
    run_d = gl.fit(run.G, D_alone, data, frozen, step=steps.FrozenG(),
                   snapshot=toy1d.snapshotter(p_data, axis, label="D step (G frozen)"),
                   callbacks=toy1d.cosine_lr(frozen.max_steps, frozen.lr))
    assert all(torch.equal(a, b) for a, b in zip(g_before, run.G.parameters()))
    gap, _ = toy1d.d_star_gap(run_d.G, run_d.D, p_data, axis, coverage=0.95)
    jsd_by_k = {cfg.k: jsd_k5}
    for k in (1, 2):
        cfg_k = cfg.replace(k=k)
        G_k, D_k = gl.models.build(cfg_k)
        callbacks_k, jsd_by_k[k] = toy1d.jsd_tracker(p_data, axis, every=cfg.chapter.jsd_every)
        at("toy1d", f"nb03:k={k}")
        gl.fit(G_k, D_k, data, cfg_k, snapshot=gl.train.blank_frame, callbacks=callbacks_k, progress=False)
    extras["toy1d|nb03"] = {"jsd_by_k": jsd_by_k, "d_star_gap_95": gap}
    timings["nb03"] = time.perf_counter() - t0

    # ---- notebook 04: dcgan-faces (main run with a checkpoint, label-smoothing and init-std side runs)
    t0 = time.perf_counter()
    cfg = gl.preset("dcgan-faces")
    data = faces.load(cfg)
    G, D = gl.models.build(cfg)
    at("dcgan-faces", "nb04:main")
    run = gl.fit(G, D, data, cfg, checkpoint=gl.checkpoint.run_path(cfg))
    side = cfg.replace(max_steps=min(cfg.chapter.side_steps, run.step), snapshot_every=cfg.chapter.side_steps)
    G_s, D_s = gl.models.build(side)
    at("dcgan-faces", "nb04:side-real_label=0.9")
    gl.fit(G_s, D_s, data, side.replace(real_label=0.9), progress=False)
    G_02, D_02 = gl.models.build(side.replace(init_std=0.2))
    at("dcgan-faces", "nb04:side-init_std=0.2")
    gl.fit(G_02, D_02, data, side.replace(init_std=0.2), progress=False)
    timings["nb04"] = time.perf_counter() - t0

    def train_preset(name, data, where):
        cfg = gl.preset(name)
        G, D = gl.models.build(cfg)
        at(name, where)
        gl.fit(G, D, data, cfg, checkpoint=gl.checkpoint.run_path(cfg))

    # ---- notebook 05: dcgan-mnist, mlp-mnist, smallconv-mnist
    t0 = time.perf_counter()
    cfg = gl.preset("dcgan-mnist")
    train_preset("dcgan-mnist", gl.data.mnist(cfg.image_size, n=cfg.n_train), "nb05:main")
    data28 = gl.data.mnist(28, n=gl.preset("mlp-mnist").n_train)
    train_preset("mlp-mnist", data28, "nb05:mlp")
    train_preset("smallconv-mnist", data28, "nb05:smallconv")
    timings["nb05"] = time.perf_counter() - t0

    # ---- notebook 06: cgan-mnist (matching-aware D and mode seeking: loss terms switched on by the preset)
    t0 = time.perf_counter()
    cfg = gl.preset("cgan-mnist")
    train_preset("cgan-mnist", gl.data.mnist(cfg.image_size, n=cfg.n_train), "nb06:main")
    timings["nb06"] = time.perf_counter() - t0

    # ---- notebook 07: variants-ring (compare, 6 losses), variants-shift, variants-mnist (compare, 6 losses)
    t0 = time.perf_counter()
    ring_cfg = gl.preset("variants-ring")
    ring = toy2d.data("ring", ring_cfg.n_train)
    shown = ring.x[:400]
    trackers = {name: variants.W1Tracker(ring) for name in variants.NAMES}

    def ring_frame(run):
        return toy2d.frame(run, ring.centers, data_points=shown, std=ring.std, size=280,
                           title=f"{run.cfg.loss}, G update {run.step}")

    at("variants-ring", "nb07:variants.compare")
    ring_results = variants.compare(ring_cfg, ring, gl.models.build, variants.ring_evaluator(ring),
                                    snapshot=ring_frame, callbacks=lambda name: {"on_snapshot": trackers[name]})
    extras["variants-ring|nb07:compare"] = {
        "metrics": {n: r.metrics for n, r in ring_results.items()},
        "w1_trackers": {n: {"steps": t.steps, "gap": t.gap, "w1": t.w1} for n, t in trackers.items()}}
    shift_cfg = gl.preset("variants-shift")
    shifts = [0.0, 0.5, 2.0] if shift_cfg.size == "quick" else [0.0, 0.05, 0.1, 0.2, 0.4, 0.7, 1.0, 1.5, 2.0]
    at("variants-shift", "nb07:variants.shift_experiment")
    extras["variants-shift|nb07:shift_experiment"] = variants.shift_experiment(
        shift_cfg, shifts, losses=("non-saturating", "wgan", "wgan-gp"))
    mnist_cfg = gl.preset("variants-mnist")
    train = gl.data.mnist(mnist_cfg.image_size).take(mnist_cfg.n_train)
    mnist_losses = ("non-saturating", "lsgan", "wgan") if mnist_cfg.size == "book" else variants.NAMES
    at("variants-mnist", "nb07:variants.compare")
    variants.compare(mnist_cfg, train, gl.models.build, lambda run: {}, losses=mnist_losses)
    timings["nb07"] = time.perf_counter() - t0

    # ---- notebook 08: challenges-vanishing (GradientProbe), challenges-ring / -grid (toy2d.lab_run)
    t0 = time.perf_counter()
    cfg_v = gl.preset("challenges-vanishing")
    ring_v = toy2d.dataset(cfg_v)
    G, D = gl.models.build(cfg_v)
    probe = steps.GradientProbe(("minimax", "non-saturating"))
    at("challenges-vanishing", "nb08:GradientProbe")
    gl.fit(G, D, ring_v, cfg_v, step=probe, progress=False,
           snapshot=lambda run: toy2d.frame(run, ring_v.centers, ring_v.x[:400], std=ring_v.std, size=240))
    extras["challenges-vanishing|nb08:probe"] = {"norms": probe.norms, "d_fake": probe.d_fake}
    for preset_name in ("challenges-ring", "challenges-grid"):
        c = gl.preset(preset_name)
        d = toy2d.dataset(c)
        for method in toy2d.METHODS:
            at(preset_name, f"nb08:toy2d.lab_run({method})")
            r = toy2d.lab_run(c, d, method)
            extras[f"{preset_name}|nb08:lab_run({method})"] = {"metrics": r.metrics, "trace": r.trace}
    timings["nb08"] = time.perf_counter() - t0

    total = time.perf_counter() - t_all
    out = {"meta": {"torch": torch.__version__, "threads": torch.get_num_threads(), "seconds_total": total,
                    "seconds_by_notebook": timings}, "runs": records, "extras": extras}
    torch.save(out, out_path)
    shutil.rmtree(ckdir, ignore_errors=True)
    print(f"saved {len(records)} fit runs and {len(extras)} extras to {out_path} in {total:.1f} s")
    return out


# ---------------------------------------------------------------- compare
def _load(x) -> dict:
    if isinstance(x, (str, os.PathLike)):
        return torch.load(x, weights_only=False)
    return x


def _same(a, b) -> bool:
    """Bit-for-bit equality of plain values / lists / dicts (floats with ==, tensors with torch.equal)."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.dtype == b.dtype
                and a.shape == b.shape and torch.equal(a, b))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return sha_array(a) == sha_array(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) == type(b) and a == b


def compare(a_path, b_dict) -> list:
    """Differences between baseline ``a_path`` (a path, or an already loaded dict) and ``b_dict`` (a dict in
    the same format, or a path): a list of strings, empty when every run and extra is bit-for-bit equal.

    Per fit run: History statistics (loss_d, loss_g, d_x, d_g_z1, d_g_z2, epoch, snapshot_steps) with ==,
    History.seconds by length only (wall time), snapshot frames by sha256 (dtype, shape, bytes), and
    step / epoch / epoch_pos, G / D / optimiser / RNG state hashes, data hash and the config.
    """
    a, b = _load(a_path), _load(b_dict)
    diffs = []
    ra, rb = a["runs"], b["runs"]
    for key in ra.keys() - rb.keys():
        diffs.append(f"{key}: only in A")
    for key in rb.keys() - ra.keys():
        diffs.append(f"{key}: only in B")
    for key in [k for k in ra if k in rb]:
        x, y = ra[key], rb[key]
        hx, hy = x["history"], y["history"]
        for name in STATS_EXACT:
            if not _same(hx[name], hy[name]):
                n = min(len(hx[name]), len(hy[name]))
                first = next((i for i in range(n) if not _same(hx[name][i], hy[name][i])), n)
                diffs.append(f"{key}: history.{name} differs (lengths {len(hx[name])} vs {len(hy[name])}, "
                             f"first difference at index {first})")
        if len(hx["seconds"]) != len(hy["seconds"]):
            diffs.append(f"{key}: history.seconds lengths {len(hx['seconds'])} vs {len(hy['seconds'])}")
        sx = x.get("snapshot_sha") or [sha_array(f) for f in hx["snapshots"]]
        sy = y.get("snapshot_sha") or [sha_array(f) for f in hy["snapshots"]]
        if sx != sy:
            diffs.append(f"{key}: snapshot frames differ ({len(sx)} vs {len(sy)} frames, "
                         f"{sum(p != q for p, q in zip(sx, sy))} differing hashes)")
        for field in ("step", "epoch", "epoch_pos", "G_sha", "D_sha", "opt_g_sha", "opt_d_sha", "rng_sha",
                      "data_len", "data_sha"):
            if field in x and field in y and not _same(x[field], y[field]):
                shown = "" if field.endswith("sha") or field == "cfg" else f": {x[field]} vs {y[field]}"
                diffs.append(f"{key}: {field} differs{shown}")
    ea, eb = a.get("extras", {}), b.get("extras", {})
    for key in sorted(ea.keys() | eb.keys()):
        if key not in ea or key not in eb:
            diffs.append(f"extras {key}: only in {'A' if key in ea else 'B'}")
        elif not _same(ea[key], eb[key]):
            diffs.append(f"extras {key}: differs")
    return diffs


def differing_keys(a_path, b_dict) -> list:
    """The run keys (and extras keys) named in ``compare``'s differences, in order."""
    seen = []
    for d in compare(a_path, b_dict):
        k = d.split(": ")[0]
        if k not in seen:
            seen.append(k)
    return seen


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "capture":
        capture(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        found = compare(sys.argv[2], sys.argv[3])
        print("\n".join(found) if found else "identical (bit for bit)")
        print(f"{len(found)} differences; keys: {differing_keys(sys.argv[2], sys.argv[3])}")
        sys.exit(1 if found else 0)
    else:
        sys.exit("usage: histories.py capture OUT.pt | compare A.pt B.pt")
