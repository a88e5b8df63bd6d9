"""ganlib's training step against the PyTorch DCGAN tutorial's loop, on the CPU, side by side.

Same models (DCGAN 32 px, ngf = ndf = 64), batch 128, synthetic in-memory data, 2 threads; the two loops are
interleaved in rounds in one process, so that a busy machine slows both alike. Prints ms per step for each
and their ratio (ganlib / tutorial; the target of the issue "Book size keeps its promise" is <= 0.9).

    .venv/bin/python benchmarks/cpu_step.py [--rounds 5] [--steps 10] [--threads 2]

By design ganlib's step draws fresh noise for the G step and runs G twice (Algorithm 1); the tutorial reuses
the D step's fakes.
"""
import argparse
import time

import torch

import ganlib as gl
from tutorial_loop import timed_tutorial


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--image-size", type=int, default=32)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = gl.preset("dcgan-mnist", size="book", image_size=args.image_size, ngf=64, ndf=64, batch_size=128,
                    n_train=128 * (args.steps + 1), max_steps=args.steps, num_epochs=1, snapshot_every=10_000,
                    log_every=10_000)
    g = torch.Generator().manual_seed(0)
    data = gl.data.ImageData(torch.randint(0, 256, (cfg.n_train, 1, cfg.image_size, cfg.image_size), generator=g,
                                           dtype=torch.uint8), None, "synthetic")
    cpu = torch.device("cpu")
    ours, theirs = [], []
    for r in range(args.rounds + 1):  # round 0 warms up both
        G, D = gl.models.build(cfg)
        tutorial = timed_tutorial(G, D, data, cfg, args.steps, cpu)
        G, D = gl.models.build(cfg)
        t0 = time.perf_counter()
        run = gl.fit(G, D, data, cfg, progress=False, snapshot=gl.train.blank_frame, device=cpu)
        fit_s = (time.perf_counter() - t0) / run.step
        if r:
            ours.append(fit_s)
            theirs.append(tutorial)
        print(f"round {r}: tutorial {1e3 * tutorial:.0f} ms/step, ganlib fit {1e3 * fit_s:.0f} ms/step"
              + (" (warm-up)" if r == 0 else ""))
    med = lambda v: sorted(v)[len(v) // 2]
    print(f"median over {args.rounds} rounds ({args.threads} threads, batch {cfg.batch_size}, "
          f"{cfg.image_size} px, ngf=ndf=64): tutorial {1e3 * med(theirs):.0f} ms, ganlib {1e3 * med(ours):.0f} ms, "
          f"ratio ganlib/tutorial {med(ours) / med(theirs):.2f}")


if __name__ == "__main__":
    main()
