"""ganlib's training step against the PyTorch DCGAN tutorial's loop, on the CPU, side by side.

Same models (DCGAN 32 px, ngf = ndf = 64), batch 128, synthetic in-memory data, 2 threads; the loops are
interleaved in rounds in one process, so that a busy machine slows them alike. Prints ms per step for the
tutorial, for ganlib's ``fit`` as Algorithm 1 has it (the default) and for ``fit`` with ``reuse_fakes=True``
(the tutorial's shortcut), and their ratios to the tutorial (the target of the issue "Book size keeps its
promise" is <= 0.9).

    .venv/bin/python benchmarks/cpu_step.py [--rounds 5] [--steps 10] [--threads 2]

By default ganlib's step draws fresh noise for the G step and runs G twice (Algorithm 1); the tutorial reuses
the D step's fakes, and so does ``fit`` with ``cfg.reuse_fakes``.
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
    times = {"tutorial": [], "fit": [], "fit, reuse_fakes": []}
    for r in range(args.rounds + 1):  # round 0 warms up every loop
        G, D = gl.models.build(cfg)
        now = {"tutorial": timed_tutorial(G, D, data, cfg, args.steps, cpu)}
        for name, run_cfg in (("fit", cfg), ("fit, reuse_fakes", cfg.replace(reuse_fakes=True))):
            G, D = gl.models.build(run_cfg)
            t0 = time.perf_counter()
            run = gl.fit(G, D, data, run_cfg, progress=False, snapshot=gl.train.blank_frame, device=cpu)
            now[name] = (time.perf_counter() - t0) / run.step
        for name, seconds in now.items():
            times[name] += [seconds] if r else []
        print(f"round {r}: " + ", ".join(f"{k} {1e3 * v:.0f} ms/step" for k, v in now.items())
              + (" (warm-up)" if r == 0 else ""))
    med = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
    print(f"median over {args.rounds} rounds ({args.threads} threads, batch {cfg.batch_size}, {cfg.image_size} px, "
          f"ngf=ndf=64): " + ", ".join(f"{k} {1e3 * v:.0f} ms" for k, v in med.items()))
    for name in ("fit", "fit, reuse_fakes"):
        print(f"ratio {name} / tutorial: {med[name] / med['tutorial']:.2f}")


if __name__ == "__main__":
    main()
