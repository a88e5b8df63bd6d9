"""What k (D steps per G update) buys and costs, on chapter 3's 1-D toy GAN.

Trains the "toy1d" preset once per k, from the same seed and for the same number of G updates, and prints
per k: the median wall time of a G update (its k D steps included, from ``history.seconds``), the total
training time, the final JSD(p_data || p_g) and how far the trained D is from D* for the final G.

    python benchmarks/k_steps.py                 # book size, k = 1 2 5 10
    python benchmarks/k_steps.py --size quick --k 1 5

Timings depend on the machine and on whatever else runs on it: the script prints the load average.
"""
from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np
import torch

import ganlib as gl


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="book", choices=gl.config.SIZES)
    parser.add_argument("--k", type=int, nargs="+", default=[1, 2, 5, 10])
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 is fastest for tiny nets)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    toy = gl.toy1d

    cfg = gl.preset("toy1d", size=args.size)
    p_data, grid = toy.p_data(cfg), toy.Axis.from_config(cfg)
    data = toy.dataset(p_data, cfg.n_train, seed=cfg.seed)
    print(f"toy1d, size {args.size}: {cfg.max_steps} G updates per run, batch {cfg.batch_size}, "
          f"torch threads {torch.get_num_threads()}, load average before: {os.getloadavg()[0]:.1f}")
    print(f"{'k':>3} {'D steps':>8} {'ms/G update':>12} {'ms/(k+1)':>9} {'total s':>8} {'final JSD':>10} "
          f"{'mean|D-D*|':>11}")
    for k in args.k:
        per_epoch = data.n_batches(cfg.batch_size) // k  # G updates an epoch allows with k D steps each
        cfg_k = cfg.replace(k=k, num_epochs=max(cfg.num_epochs, math.ceil(cfg.max_steps / per_epoch)))
        G, D = gl.models.build(cfg_k)
        t0 = time.perf_counter()
        run = gl.fit(G, D, data, cfg_k, snapshot=gl.train.blank_frame, progress=False)
        wall = time.perf_counter() - t0
        ms = 1e3 * float(np.median(run.history.seconds))
        jsd = toy.state(run.G, run.D, p_data, grid)["jsd"]
        gap, _ = toy.d_star_gap(run.G, run.D, p_data, grid, reduce=np.mean)
        print(f"{k:>3} {k * len(run.history):>8} {ms:>12.2f} {ms / (k + 1):>9.2f} {wall:>8.1f} {jsd:>10.4f} "
              f"{gap:>11.4f}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
