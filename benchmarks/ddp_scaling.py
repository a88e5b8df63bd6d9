"""Data parallelism on the CPU: ``fit`` in one process against ``fit`` in two processes under torchrun (gloo).

Same preset, same global batch, synthetic in-memory images; three set-ups, run in interleaved rounds so that
a busy machine slows them alike:

* ``1x1``: one process, one thread;
* ``1x2``: one process, two threads (intra-op parallelism inside PyTorch);
* ``2x1``: two processes under ``python -m torch.distributed.run --standalone`` with one thread each (DDP,
  each rank trains on half of every global batch and the gradients are all-reduced with gloo).

Each worker times the G updates after a warm-up with an ``on_step_end`` callback, and rank 0 writes the
figures to a small JSON file that this script reads back. Prints images/s (global batch x k / seconds per G
update; the median over the rounds) and the speed-ups of 2x1 over 1x2 (same two cores) and over 1x1.

    .venv/bin/python benchmarks/ddp_scaling.py [--preset dcgan-mnist] [--steps 30] [--warmup 5] [--rounds 3]

The defaults are book-like small settings (32 px, ngf = ndf = 32, batch 64). This measures the CPU only;
it says nothing about several GPUs with NCCL.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SETUPS = (("1x1", 1, 1), ("1x2", 1, 2), ("2x1", 2, 1))  # (name, processes, threads per process)


def worker(args):
    """One training run (inside torchrun when WORLD_SIZE > 1); rank 0 writes its timings to ``args.worker``."""
    import torch

    import ganlib as gl

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    total = args.warmup + args.steps
    k = gl.preset(args.preset, size="book").k
    cfg = gl.preset(args.preset, size="book", image_size=args.image_size, ngf=args.width, ndf=args.width,
                    batch_size=args.batch_size, n_train=args.batch_size * k * (total + 1), max_steps=total,
                    num_epochs=1, snapshot_every=10**6, log_every=10**6)
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (cfg.n_train, cfg.nc, cfg.image_size, cfg.image_size), generator=g,
                           dtype=torch.uint8)
    data = gl.data.ImageData(images, None, "synthetic")
    G, D = gl.models.build(cfg)
    stamps = []
    run = gl.fit(G, D, data, cfg, progress=False, snapshot=gl.train.blank_frame, device=torch.device("cpu"),
                 callbacks={"on_step_end": lambda run: stamps.append(time.perf_counter())})
    if run.rank == 0:
        seconds = (stamps[-1] - stamps[args.warmup - 1]) / args.steps  # per G update, after the warm-up
        out = {"world": run.world, "threads": torch.get_num_threads(), "steps": args.steps,
               "global_batch": cfg.batch_size, "k": cfg.k, "seconds_per_step": seconds,
               "images_per_s": cfg.batch_size * cfg.k / seconds}
        Path(args.worker).write_text(json.dumps(out))


def launch(args, procs: int, threads: int, out: Path) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    opts = ["--preset", args.preset, "--steps", str(args.steps), "--warmup", str(args.warmup),
            "--image-size", str(args.image_size), "--width", str(args.width), "--batch-size", str(args.batch_size),
            "--worker", str(out)]
    if procs == 1:
        cmd = [sys.executable, __file__, *opts]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={procs}",
               __file__, *opts]
    done = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout[-3000:]}")
    return json.loads(out.read_text())


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="dcgan-mnist")
    ap.add_argument("--steps", type=int, default=30, help="timed G updates")
    ap.add_argument("--warmup", type=int, default=5, help="G updates before the timing starts")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--image-size", type=int, default=32)
    ap.add_argument("--width", type=int, default=32, help="ngf = ndf")
    ap.add_argument("--batch-size", type=int, default=64, help="the GLOBAL batch (each of 2 ranks takes half)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args)
    if args.warmup < 1 or args.steps < 1:
        raise SystemExit("--warmup and --steps must be >= 1.")
    print(f"{args.preset}: {args.image_size} px, ngf=ndf={args.width}, global batch {args.batch_size}, "
          f"{args.warmup} + {args.steps} G updates per run; {os.cpu_count()} CPUs; load average {loadavg()}")
    results = {name: [] for name, _, _ in SETUPS}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for name, procs, threads in SETUPS:
                res = launch(args, procs, threads, Path(tmp) / f"{name}-{r}.json")
                results[name].append(res["images_per_s"])
                print(f"round {r + 1}: {name} ({procs} process(es) x {threads} thread(s)): "
                      f"{res['images_per_s']:.0f} images/s, {1e3 * res['seconds_per_step']:.0f} ms per G update "
                      f"(load average {loadavg()})", flush=True)
    med = {name: statistics.median(v) for name, v in results.items()}
    print(f"\nmedian over {args.rounds} rounds (load average at the end {loadavg()}):")
    for name, procs, threads in SETUPS:
        print(f"  {name}: {procs} process(es) x {threads} thread(s): {med[name]:7.0f} images/s")
    print(f"speed-up of 2 processes x 1 thread over 1 process x 2 threads: {med['2x1'] / med['1x2']:.2f}")
    print(f"speed-up of 2 processes x 1 thread over 1 process x 1 thread:  {med['2x1'] / med['1x1']:.2f}")
    print(f"speed-up of 1 process x 2 threads over 1 process x 1 thread:   {med['1x2'] / med['1x1']:.2f}")


if __name__ == "__main__":
    main()
