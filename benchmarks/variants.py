"""The "Variants" table: six GAN losses, same nets, same seed, same number of G updates.

Per loss: on the 2-D ring (preset ``variants-ring``), modes covered (of 8) and the share of high-quality
samples; on MNIST (preset ``variants-mnist``, the fully connected GAN), the MNIST score and the Frechet
distance of ganlib.metrics (against held-out digits); and the training time of each run (the G updates
with their k D steps, snapshots and scoring excluded).

    GANLIB_DATA=data python benchmarks/variants.py                 # book size, both tasks
    GANLIB_DATA=data python benchmarks/variants.py --task ring --losses wgan,wgan-gp
    GANLIB_SIZE=quick python benchmarks/variants.py                # a smoke test in seconds

Times depend on the machine and its load; the nets are tiny, so one thread (the default here) is usually
as fast as several and does not fight with other processes.
"""
from __future__ import annotations

import argparse
import platform
import time

import torch

import ganlib as gl
from ganlib import toy2d, variants


def ring_results(losses, size):
    cfg = gl.preset("variants-ring", size=size)
    data = toy2d.data("ring", cfg.n_train, std=cfg.chapter.std)
    print(f"ring: {data}; {cfg.max_steps} G updates per loss, batch {cfg.batch_size}, "
          f"nets of width {cfg.ngf}", flush=True)
    return variants.compare(cfg, data, gl.models.build, variants.ring_evaluator(data), losses=losses,
                            snapshot=gl.train.blank_frame)


def mnist_results(losses, size):
    cfg = gl.preset("variants-mnist", size=size)
    train = gl.data.mnist(cfg.image_size).take(cfg.n_train)
    held_out = gl.data.mnist(cfg.image_size, train=False)
    classifier, acc = gl.metrics.mnist_classifier(verbose=False)
    n_eval = cfg.chapter.n_eval
    evaluate = variants.MNISTEvaluator(gl.data.to_float(held_out.images), n=n_eval, classifier=classifier)
    some_real, _ = train.get(torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[:n_eval])
    ceiling = evaluate.score(some_real)  # real training digits (a random subset: the fallback is sorted by class)
    print(f"MNIST: {train.source}; {cfg.max_steps} G updates per loss, batch {cfg.batch_size}, "
          f"MLP width {cfg.ngf}; classifier held-out accuracy {acc:.3f}; {n_eval} real training digits "
          f"score {ceiling['mnist_score']:.2f}, Frechet {ceiling['frechet']:.1f} (the ceiling)", flush=True)
    return variants.compare(cfg, train, gl.models.build, evaluate, losses=losses, snapshot=gl.train.blank_frame)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=("both", "ring", "mnist"), default="both")
    parser.add_argument("--losses", default=",".join(variants.NAMES), help="comma-separated loss names")
    parser.add_argument("--size", default=None, help="quick | book | full (default: GANLIB_SIZE or book)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    losses = [gl.losses.get(name).name for name in args.losses.split(",")]
    size = args.size or gl.size()
    print(f"size {size}; torch {torch.__version__}, {args.threads} thread(s), device {gl.device()}, "
          f"{platform.processor() or platform.machine()}", flush=True)
    t0 = time.perf_counter()
    tasks = {}
    if args.task in ("both", "ring"):
        tasks["ring"] = ring_results(losses, size)
    if args.task in ("both", "mnist"):
        tasks["MNIST"] = mnist_results(losses, size)
    print()
    print(variants.table(tasks).to_string())
    print(f"\ntotal wall time {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
