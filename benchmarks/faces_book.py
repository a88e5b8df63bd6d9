"""Train chapter 4's DCGAN on faces at book size and print the wall time (the book promises <= 10 min
for the whole notebook on 2 CPU cores); save the real-vs-fake figure.

Usage: python benchmarks/faces_book.py [--out runs/faces_real_vs_fake.png] [--side] [--threads 2]
``--side`` also times the two short comparison runs of section 7 (label smoothing, init std 0.2).
On a shared machine wall time grows with the others' load: the CPU time is printed too.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/faces_real_vs_fake.png")
    parser.add_argument("--side", action="store_true", help="also run the two comparison runs")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--size", default="book")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    import matplotlib
    matplotlib.use("Agg")
    import ganlib as gl

    cfg = gl.preset("dcgan-faces", size=args.size)
    print(gl.describe(cfg))
    wall0, cpu0 = time.perf_counter(), time.process_time()
    data = gl.faces.load(cfg, progress=False)
    print(data)
    G, D = gl.models.build(cfg)
    run = gl.fit(G, D, data, cfg, progress=False)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    print(f"main run: {run.step} G updates, wall {wall:.0f} s ({wall / run.step:.3f} s/update), CPU {cpu:.0f} s")
    h = run.history
    half = len(h) // 2
    for name in ("loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2"):
        v = torch.tensor(getattr(h, name)[half:])
        print(f"  {name:<7} second half: mean {v.mean():.3f}  min {v.min():.3f}  max {v.max():.3f}")

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    real, _ = data.get(torch.arange(min(64, len(data))))
    gl.viz.real_vs_fake(real, h.snapshots[-1]).savefig(out, dpi=100, bbox_inches="tight")
    print(f"saved {out}")

    if args.side:
        n = cfg.chapter.side_steps
        side = cfg.replace(max_steps=n, snapshot_every=n)
        items = [(f"real label 1, std 0.02 (update {n})", h.snapshots[h.snapshot_steps.index(n)])]
        for label, c in (("real label 0.9", side.replace(real_label=0.9)), ("init std 0.2", side.replace(init_std=0.2))):
            t0 = time.perf_counter()
            r = gl.fit(*gl.models.build(c), data, c, progress=False)
            print(f"side run ({label}): {r.step} G updates, wall {time.perf_counter() - t0:.0f} s, "
                  f"largest running mean of D(x) {gl.viz.smooth(r.history.d_x, max(1, n // 20)).max():.3f}")
            items.append((f"{label} (update {n})", r.history.snapshots[-1]))
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        print(f"all training: wall {wall:.0f} s, CPU {cpu:.0f} s")
        side_png = out.with_name(out.stem + "_side.png")
        gl.faces.panels(items, size=4.5).savefig(side_png, dpi=100, bbox_inches="tight")
        print(f"saved {side_png}")


if __name__ == "__main__":
    main()
