"""Train the MNIST chapter's DCGAN at `book` size and print what it reaches.

Prints: wall time of training, seconds per G update, the MNIST score and Frechet distance of 1,000 samples,
and the same two figures for 1,000 real held-out digits (the ceiling). Usage:

    python benchmarks/dcgan_mnist.py [--size book] [--preset dcgan-mnist] [--threads N]
"""
import argparse
import time

import torch

import ganlib as gl


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="book", choices=gl.config.SIZES)
    parser.add_argument("--preset", default="dcgan-mnist")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    cfg = gl.preset(args.preset, size=args.size)
    print(gl.describe(cfg))
    data = gl.data.mnist(cfg.image_size, n=cfg.n_train)
    G, D = gl.models.build(cfg)
    t0 = time.perf_counter()
    run = gl.fit(G, D, data, cfg, progress=False)
    wall = time.perf_counter() - t0

    clf, acc = gl.metrics.mnist_classifier(verbose=False)
    reference, _ = data.get(torch.arange(min(len(data), 2000)))
    held_out = gl.data.mnist(cfg.image_size, train=False)
    real_test, _ = held_out.get(torch.arange(min(len(held_out), 1000)))
    fake = gl.metrics.generate(run.G, 1000, cfg.nz, seed=1)
    ceiling = gl.metrics.evaluate(clf, real_test, reference)
    result = gl.metrics.evaluate(clf, fake, reference)

    print(f"\npreset {cfg.name}, size {cfg.size}, device {gl.device()}, torch threads {torch.get_num_threads()}")
    print(f"data: {data.source}; classifier held-out accuracy {acc:.4f}")
    print(f"training: {run.step} G updates in {wall:.1f} s ({wall / run.step:.3f} s per update)")
    print(f"{'':<24}{'MNIST score':>12}{'Frechet':>10}")
    print(f"{'real held-out digits':<24}{ceiling['mnist_score']:>12.2f}{ceiling['frechet']:>10.2f}")
    print(f"{'generated (1,000)':<24}{result['mnist_score']:>12.2f}{result['frechet']:>10.2f}")
    print(f"generated class histogram: {result['classes']}")


if __name__ == "__main__":
    main()
