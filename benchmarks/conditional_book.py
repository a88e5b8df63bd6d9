"""Benchmark: the conditional GAN of chapter 6 trained at one size, then measured.

Prints the training wall time and seconds per G update, the class accuracy of generated digits (overall,
worst class, per class) as read by ganlib's MNIST classifier, and the per-class Frechet distance between
generated digits and the real training digits of the same class (with the real-vs-real floor: training
digits against the held-out digits of that class). Optionally saves the final 10x10 fixed grid as a PNG.

    GANLIB_DATA=$PWD/data python benchmarks/conditional_book.py --grid cgan_grid.png --eval-every 10
    python benchmarks/conditional_book.py --plain --epochs 25 --lr 2e-4   # the source's recipe alone
    python benchmarks/conditional_book.py --time-widths 32,48,64 --steps 20   # seconds per step only

Timings depend on the machine and on what else runs on it; say so when you report them.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import ganlib as gl


def time_widths(widths, batch_size, steps, data):
    """Seconds per G update (median of ``steps``, first 3 skipped) for several ngf = ndf."""
    for w in widths:
        cfg = gl.preset("cgan-mnist", size="book", ngf=w, ndf=w, batch_size=batch_size, max_steps=steps + 3,
                        snapshot_every=10 ** 9)
        c0 = time.process_time()
        run = gl.fit(*gl.models.build(cfg), data, cfg, progress=False)
        cpu = (time.process_time() - c0) / run.step
        sec = float(np.median(run.history.seconds[3:]))
        print(f"ngf=ndf={w:3d} batch {batch_size}: {sec:.3f} s per G update "
              f"({batch_size / sec:.0f} images/s; one epoch of {len(data)} digits = "
              f"{sec * (len(data) // batch_size):.1f} s); CPU time {cpu:.3f} s per G update")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="book", choices=gl.config.SIZES)
    parser.add_argument("--grid", default=None, help="save the final 10x10 fixed grid as this PNG")
    parser.add_argument("--n-per-class", type=int, default=500, help="generated digits per class to measure")
    parser.add_argument("--time-widths", default=None, help="only time steps for these ngf=ndf, e.g. 32,48,64")
    parser.add_argument("--batch-size", type=int, default=None, help="override the preset's batch size")
    parser.add_argument("--epochs", type=int, default=None, help="override the preset's epochs")
    parser.add_argument("--ngf", type=int, default=None, help="override the preset's ngf")
    parser.add_argument("--ndf", type=int, default=None, help="override the preset's ndf")
    parser.add_argument("--steps", type=int, default=20, help="steps per width with --time-widths")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    parser.add_argument("--checkpoint", default=None, help="write (and resume from) this checkpoint")
    parser.add_argument("--lr", type=float, default=None, help="override the preset's learning rate")
    parser.add_argument("--plain", action="store_true",
                        help="the source's recipe alone: no matching-aware D step, no mode-seeking term")
    parser.add_argument("--k", type=int, default=None, help="override the preset's D steps per G step")
    parser.add_argument("--eval-every", type=int, default=0,
                        help="also print the class accuracy (100 per class) every this many epochs")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {gl.device()}")

    data = gl.data.mnist(32)
    if args.time_widths:
        time_widths([int(w) for w in args.time_widths.split(",")], args.batch_size or 64, args.steps, data)
        return

    overrides = {k: v for k, v in (("batch_size", args.batch_size), ("num_epochs", args.epochs),
                                   ("ngf", args.ngf), ("ndf", args.ndf), ("lr", args.lr), ("k", args.k)) if v is not None}
    cfg = gl.preset("cgan-mnist", size=args.size, **overrides)
    if args.plain:
        cfg = cfg.replace(matching_d=False, mode_seeking=0.0)
    print(gl.describe(cfg))
    print(f"data: {data}")
    G, D = gl.models.build(cfg)
    classifier, clf_acc = gl.metrics.mnist_classifier(verbose=False)
    callbacks, spent = {}, [0.0]
    if args.eval_every:
        def on_epoch_end(run):  # measuring time is subtracted from the training wall time below
            if run.epoch % args.eval_every == 0:
                t = time.perf_counter()
                images, asked = gl.conditional.class_samples(run.G, cfg.nz, 100, seed=run.epoch)
                acc = gl.metrics.class_accuracy(classifier, images, asked)
                print(f"  epoch {run.epoch:3d} ({run.step} G updates): class accuracy {acc.overall:.3f}, "
                      f"worst class {acc.worst[0]} at {acc.worst[1]:.2f}", flush=True)
                spent[0] += time.perf_counter() - t
        callbacks["on_epoch_end"] = on_epoch_end
    t0, c0 = time.perf_counter(), time.process_time()
    print(f"loss terms: matching-aware D {cfg.matching_d}, mode seeking {cfg.mode_seeking}")
    run = gl.fit(G, D, data, cfg, progress=False, callbacks=callbacks, checkpoint=args.checkpoint)
    wall, cpu = time.perf_counter() - t0 - spent[0], time.process_time() - c0
    print(f"\ntraining: {run.step} G updates in {wall:.1f} s wall ({wall / 60:.2f} min); "
          f"median {np.median(run.history.seconds):.3f} s per G update; process CPU time {cpu:.1f} s "
          f"(measuring included; on a machine shared with others, CPU time / threads is the better guide)")

    t0 = time.perf_counter()
    result = gl.conditional.class_scores(run.G, cfg.nz, data, n_per_class=args.n_per_class, classifier=classifier)
    held_out = gl.data.mnist(32, train=False)
    floor = gl.metrics.real_frechet_floor(classifier, held_out, data)
    acc, fd = result["accuracy"], result["frechet"]
    print(f"measuring: {time.perf_counter() - t0:.1f} s; classifier held-out accuracy {clf_acc:.4f}")
    print(f"\nclass accuracy of generated digits ({args.n_per_class} per class): overall {acc.overall:.4f}, "
          f"worst class {acc.worst[0]} at {acc.worst[1]:.4f}")
    n_real = [int((data.labels == c).sum()) for c in range(10)]
    print("class  accuracy  FD(gen vs train digits)  FD(held-out vs train digits)  real digits")
    for c in range(10):
        print(f"{c:5d}  {acc.per_class[c]:8.4f}  {fd[c]:23.2f}  {floor[c]:28.2f}  {n_real[c]:11d}")
    print(f"mean   {acc.per_class.mean():8.4f}  {fd.mean():23.2f}  {floor.mean():28.2f}")
    print("confusion (rows: asked, columns: read):")
    print(acc.confusion.numpy())
    if args.grid:
        from PIL import Image

        frame = np.asarray(run.history.snapshots[-1])
        Image.fromarray(frame[:, :, 0] if frame.shape[2] == 1 else frame).save(args.grid)
        print(f"saved the final fixed grid to {args.grid}")


if __name__ == "__main__":
    main()
