"""The mode-collapse table of chapter 8: modes covered, high-quality share and wall time, per method and seed.

Every method trains the same 2-D MLPs (preset ``challenges-ring`` or ``challenges-grid``) on the same data
through ``ganlib.toy2d.lab_run`` -- the code path the chapter uses -- and is scored on 2,500 fresh samples
with ``ganlib.metrics.mode_metrics`` (a mode is covered when >= 1% of the samples lie within 3 std of its
centre; reached when it is the nearest centre of >= 1% of the samples; high quality = within 3 std of any
centre).

    GANLIB_DATA=data python benchmarks/mode_collapse.py                  # book size, ring, 3 seeds, 4 methods
    python benchmarks/mode_collapse.py --kind grid --seeds 0 1 2
    python benchmarks/mode_collapse.py --size quick --methods gan pacgan # a smoke test

Prints one row per run and a summary per method. Not run by CI.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import torch

import ganlib as gl
from ganlib import toy2d


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", default="ring", choices=toy2d.KINDS)
    parser.add_argument("--size", default=os.environ.get("GANLIB_SIZE", "book"), choices=gl.config.SIZES)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=["gan", "unrolled", "wgan-gp", "pacgan"],
                        choices=list(toy2d.METHODS))
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest for these tiny nets)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    base = gl.preset(f"challenges-{args.kind}", size=args.size)
    n_modes = len(toy2d.centers(args.kind))
    print(f"{args.kind}, size {args.size}: {base.n_train} points of std {base.chapter.std}, "
          f"{base.max_steps} G updates, batch {base.batch_size}, nz {base.nz}, widths {base.ngf}/{base.ndf}, "
          f"lr {base.lr}; torch threads {args.threads}; {time.strftime('%Y-%m-%d %H:%M')}", flush=True)
    header = (f"{'method':34s} {'seed':>4s} {'modes':>7s} {'reached':>7s} {'HQ %':>6s} {'G updates':>9s} {'wall s':>7s} "
              f"{'ms/G update':>12s}")
    print(header)
    print("-" * len(header))
    rows = []
    for method in args.methods:
        for seed in args.seeds:
            cfg = base.replace(seed=seed)
            data = toy2d.dataset(cfg, seed=seed)
            res = toy2d.lab_run(cfg, data, method, frames=False, progress=False)
            ms = 1000 * sum(res.run.history.seconds) / max(1, len(res.run.history))
            rows.append((method, seed, res.metrics["modes"], res.metrics["hq"], res.seconds, res.metrics["reached"]))
            print(f"{toy2d.METHODS[method].label:34s} {seed:4d} {res.metrics['modes']:4d}/{n_modes:<2d} "
                  f"{res.metrics['reached']:4d}/{n_modes:<2d} "
                  f"{100 * res.metrics['hq']:6.1f} {res.run.step:9d} {res.seconds:7.1f} {ms:12.1f}", flush=True)
    print("\nsummary (mean over seeds; modes and reached: min..max)")
    for method in args.methods:
        mine = [r for r in rows if r[0] == method]
        modes = [r[2] for r in mine]
        reached = [r[5] for r in mine]
        print(f"{toy2d.METHODS[method].label:34s} modes {min(modes)}..{max(modes)}/{n_modes}  "
              f"reached {min(reached)}..{max(reached)}/{n_modes}  "
              f"HQ {100 * sum(r[3] for r in mine) / len(mine):5.1f}%  wall {sum(r[4] for r in mine) / len(mine):6.1f} s")


if __name__ == "__main__":
    sys.exit(main())
