"""Train the MNIST chapter's DCGAN at `book` size and print what it reaches; measure each lever that improves it.

Prints, for each recipe: seconds per G update (the sum of the steps' own wall times, measuring excluded), the
MNIST score and Frechet distance of 1,000 samples against the training digits, the smallest class share of the
samples, their confident share (the classifier gives one digit more than 0.9), and the same figures for 1,000
real held-out digits (the ceiling); then the same samples' figures under truncation (noise psi * z). Usage:

    python benchmarks/dcgan_mnist.py                    # plain (dcgan-mnist) and improved (dcgan-mnist-plus)
    python benchmarks/dcgan_mnist.py --levers           # also every lever alone (one run each)
    python benchmarks/dcgan_mnist.py --only plain --diagnose 124   # what limits the plain DCGAN, over training
    python benchmarks/dcgan_mnist.py --only plain,diffaugment --threads 1 --json out.json
    python benchmarks/dcgan_mnist.py --levers --time 40 --threads 1   # seconds per G update only

``--diagnose N`` measures every N G updates: D's mean probability and accuracy on 1,000 of its training digits
and on 1,000 held-out digits (a gap = D has memorised its training digits), the MNIST score, Frechet distance
and class histogram of 1,000 samples, with G in eval mode (running BatchNorm statistics, as everywhere in the
book) and in train mode (batch statistics).

Every run is deterministic given the seed on a CPU; only the timings depend on the machine and on what else
runs on it. Say so when you report them.
"""
from __future__ import annotations

import argparse
import copy
import json
import time

import torch

import ganlib as gl

# name -> (preset, Config overrides, what it changes). Each lever changes ONE thing of the plain recipe.
RECIPES = {
    "plain": ("dcgan-mnist", {}, "the sources' DCGAN (001): cross-entropy, Adam 2e-4 for both nets"),
    "diffaugment": ("dcgan-mnist", dict(augment="translation,cutout"),
                    "D sees real and fake digits shifted and cut out (DiffAugment, Zhao et al. 2020)"),
    "translation": ("dcgan-mnist", dict(augment="translation"), "DiffAugment with translation only"),
    "ttur": ("dcgan-mnist", dict(lr=1e-4, lr_d=4e-4), "two time scales: lr 1e-4 for G, 4e-4 for D (Heusel et al.)"),
    "lr4e-4": ("dcgan-mnist", dict(lr=4e-4), "Adam lr 4e-4 for both nets (plain: 2e-4)"),
    "gfast": ("dcgan-mnist", dict(lr=4e-4, lr_d=2e-4), "two time scales the other way: G 4e-4, D 2e-4"),
    "gfast2": ("dcgan-mnist", dict(lr=4e-4, lr_d=1e-4), "two time scales the other way: G 4e-4, D 1e-4"),
    "batch32": ("dcgan-mnist", dict(batch_size=32, max_steps=4960),
                "batch 32, twice the G updates (4,960): about the same compute as plain"),
    "gfast8": ("dcgan-mnist", dict(lr=8e-4, lr_d=2e-4), "two time scales the other way: G 8e-4, D 2e-4"),
    "gfast-da": ("dcgan-mnist", dict(lr=4e-4, lr_d=2e-4, augment="translation,cutout"),
                 "G 4e-4, D 2e-4, and DiffAugment"),
    "smooth": ("dcgan-mnist", dict(real_label=0.9), "one-sided label smoothing: real target 0.9 (source 000)"),
    "width48": ("dcgan-mnist", dict(ngf=48, ndf=48), "ngf = ndf = 48 (plain: 32)"),
    "width64": ("dcgan-mnist", dict(ngf=64, ndf=64), "ngf = ndf = 64 (plain: 32)"),
    "g64": ("dcgan-mnist", dict(ngf=64), "a wider G only: ngf = 64, ndf = 32"),
    "g48": ("dcgan-mnist", dict(ngf=48), "a wider G only: ngf = 48, ndf = 32"),
    "resize": ("dcgan-mnist", dict(upsample="resize"), "G upsamples by nearest x2 + 3x3 conv (no checkerboard)"),
    "hinge-sn": ("dcgan-mnist", dict(loss="hinge", spectral_norm=True),
                 "hinge loss, spectral normalisation in D (Miyato et al. 2018)"),
}
RECIPES["improved"] = ("dcgan-mnist-plus", {}, "the chapter's improved recipe (preset dcgan-mnist-plus): G 4e-4, "
                       "D 2e-4, reuse_fakes, 4,340 G updates")
RECIPES["improved-decay"] = ("dcgan-mnist-plus", dict(lr_decay=0.0), "the improved recipe, both lrs falling to 0")


@torch.no_grad()
def d_on_real(D, images: torch.Tensor, batch_size: int) -> tuple[float, float]:
    """Mean D(x) (a probability) and accuracy (D(x) > 1/2) of ``D`` on real ``images (N, 1, H, W)`` in [-1, 1],
    in train mode on batches of ``batch_size`` as in training (a copy of D: its BatchNorm statistics stay)."""
    D = copy.deepcopy(D).train()
    p = torch.cat([torch.sigmoid(D(images[i:i + batch_size])) for i in range(0, len(images), batch_size)])
    return float(p.mean()), float((p > 0.5).float().mean())


@torch.no_grad()
def generate_train_mode(G, n: int, nz: int, seed: int = 1, batch_size: int = 64) -> torch.Tensor:
    """``n`` samples with G's BatchNorm in train mode (batch statistics), on a copy of G."""
    G = copy.deepcopy(G).train()
    g = torch.Generator().manual_seed(seed)
    return torch.cat([G(torch.randn(batch_size, nz, generator=g)) for _ in range(0, n, batch_size)])[:n]


def measure(clf, G, nz, reference, psi: float = 1.0) -> dict:
    """Score, Frechet distance, smallest class share and confident share of 1,000 samples of ``G`` (eval mode),
    for noise ``psi * z`` (``psi`` < 1: the truncation trick, samples from the denser middle of the prior)."""
    fake = gl.metrics.generate(_Scaled(G, psi) if psi != 1.0 else G, 1000, nz, seed=1)
    m = gl.metrics.evaluate(clf, fake, reference)
    m["min_class_share"] = min(m["classes"]) / sum(m["classes"])
    m["confident"] = gl.metrics.confident_share(gl.metrics.probabilities(clf, fake))
    return m


class _Scaled(torch.nn.Module):
    """``G(psi * z)``: G with its noise shrunk towards 0 (truncation)."""

    def __init__(self, G, psi: float):
        super().__init__()
        self.G, self.psi = G, psi

    def forward(self, z, y=None):
        return self.G(self.psi * z, y)


def train(name: str, size: str, clf, reference, train_real, test_real, diagnose: int = 0, grid: str | None = None,
          save: str | None = None) -> dict:
    preset, overrides, what = RECIPES[name]
    cfg = gl.preset(preset, size=size, **overrides)
    data = gl.data.mnist(cfg.image_size, n=cfg.n_train)
    G, D = gl.models.build(cfg)
    curve = []

    def on_step_end(run):
        if diagnose and (run.step % diagnose == 0 or run.step == 1):
            d_tr, acc_tr = d_on_real(run.D, train_real, cfg.batch_size)
            d_te, acc_te = d_on_real(run.D, test_real, cfg.batch_size)
            ev = measure(clf, run.G, cfg.nz, reference)
            tm = gl.metrics.evaluate(clf, generate_train_mode(run.G, 1000, cfg.nz), reference)
            row = {"step": run.step, "D(train)": d_tr, "D(held-out)": d_te, "acc(train)": acc_tr,
                   "acc(held-out)": acc_te, "D(G(z))": run.history.d_g_z1[-1], "score": ev["mnist_score"],
                   "confident": ev["confident"],
                   "frechet": ev["frechet"], "classes": ev["classes"], "score(G train mode)": tm["mnist_score"],
                   "frechet(G train mode)": tm["frechet"], "sec/update": sum(run.history.seconds) / run.step}
            curve.append(row)
            print(f"  [{name}] step {run.step:5d}: D(x) train {d_tr:.3f} held-out {d_te:.3f} "
                  f"(acc {acc_tr:.3f} / {acc_te:.3f}), D(G(z)) {row['D(G(z))']:.3f} | score {ev['mnist_score']:.2f} "
                  f"Frechet {ev['frechet']:.2f} confident {ev['confident']:.3f} (train-mode G: {tm['mnist_score']:.2f} / {tm['frechet']:.2f}) "
                  f"classes {ev['classes']}", flush=True)

    t0 = time.perf_counter()
    run = gl.fit(G, D, data, cfg, progress=False, callbacks={"on_step_end": on_step_end})
    wall = time.perf_counter() - t0
    m = measure(clf, run.G, cfg.nz, reference)
    if grid:  # the final fixed-noise snapshot, as a PNG
        import matplotlib.pyplot as plt
        plt.imsave(f"{grid}{name}.png", run.history.snapshots[-1].squeeze(-1), cmap="gray")
    if save:  # G's weights, for a closer look later (gl.checkpoint.load_generator)
        gl.checkpoint.save_generator(f"{save}{name}.pt", run.G, cfg)
        torch.save(run.D.state_dict(), f"{save}{name}-D.pt")
    for psi in (0.75, 0.5):  # does the middle of the prior draw clearer digits?
        t = measure(clf, run.G, cfg.nz, reference, psi)
        print(f"  [{name}] truncation psi={psi}: score {t['mnist_score']:.2f}, Frechet {t['frechet']:.2f}, "
              f"confident {t['confident']:.3f}, classes {t['classes']}", flush=True)
    out = {"recipe": name, "what": what, "G updates": run.step, "sec/update": sum(run.history.seconds) / run.step,
           "train seconds": sum(run.history.seconds), "wall": wall, "G params": gl.models.n_params(run.G),
           "D params": gl.models.n_params(run.D), "MNIST score": m["mnist_score"], "Frechet": m["frechet"],
           "min class share": m["min_class_share"], "confident": m["confident"], "classes": m["classes"],
           "curve": curve}
    print(f"{name:<22}{out['MNIST score']:>8.2f}{out['Frechet']:>9.2f}{out['min class share']:>9.3f}"
          f"{out['confident']:>9.3f}{out['sec/update']:>9.3f}{run.step:>8}   classes {m['classes']}", flush=True)
    return out


def time_recipes(names, size: str, steps: int, data, rounds: int = 3) -> None:
    """Seconds per G update of each recipe over ``steps`` updates (no measuring in between), ``rounds`` times,
    the recipes interleaved: the wall time and the CPU time of this process, each the best (lowest) of the
    rounds -- on a shared machine other programs only ever add time -- and both relative to the plain recipe."""
    best = {name: [float("inf"), float("inf")] for name in names}
    for _ in range(rounds):
        for name in names:
            preset, overrides, what = RECIPES[name]
            cfg = gl.preset(preset, size=size, max_steps=steps + 3, snapshot_every=10 ** 6, **overrides)
            G, D = gl.models.build(cfg)
            start = {}

            def on_step_end(run):  # from the end of step 3 (the first steps warm up) to the end
                if run.step == 3:
                    start["cpu"], start["wall"] = time.process_time(), sum(run.history.seconds)

            run = gl.fit(G, D, data, cfg, progress=False, snapshot=gl.train.blank_frame,
                         callbacks={"on_step_end": on_step_end})
            cpu = (time.process_time() - start["cpu"]) / (run.step - 3)
            wall = (sum(run.history.seconds) - start["wall"]) / (run.step - 3)
            best[name] = [min(best[name][0], wall), min(best[name][1], cpu)]
    base = best.get("plain")
    print(f"{'recipe':<14}{'wall s/upd':>11}{'CPU s/upd':>11}" + (f"{'wall x':>8}{'CPU x':>8}" if base else ""))
    for name, (wall, cpu) in best.items():
        rel = f"{wall / base[0]:>8.2f}{cpu / base[1]:>8.2f}" if base else ""
        print(f"{name:<14}{wall:>11.3f}{cpu:>11.3f}{rel}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="book", choices=gl.config.SIZES)
    parser.add_argument("--levers", action="store_true", help="train every recipe: plain, each lever alone, improved")
    parser.add_argument("--only", default=None, help=f"comma-separated recipes among {', '.join(RECIPES)}")
    parser.add_argument("--diagnose", type=int, default=0, help="measure D and G every this many G updates")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    parser.add_argument("--time", type=int, default=0, help="only time this many G updates of each recipe")
    parser.add_argument("--rounds", type=int, default=3, help="with --time: rounds (the best of them is kept)")
    parser.add_argument("--grid", default=None, help="save each recipe's last snapshot as <GRID><recipe>.png")
    parser.add_argument("--save", default=None, help="save each recipe's G as <SAVE><recipe>.pt")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    if args.only:
        names = args.only.split(",")
    elif args.levers:
        names = list(RECIPES)
    else:
        names = [n for n in ("plain", "improved") if n in RECIPES]
    unknown = [n for n in names if n not in RECIPES]
    if unknown:
        parser.error(f"unknown recipes {unknown}; choose among {', '.join(RECIPES)}")

    cfg = gl.preset("dcgan-mnist", size=args.size)
    data = gl.data.mnist(cfg.image_size, n=cfg.n_train)
    if args.time:
        return time_recipes(list(dict.fromkeys(names)), args.size, args.time, data, args.rounds)
    clf, acc = gl.metrics.mnist_classifier(verbose=False)
    held_out = gl.data.mnist(cfg.image_size, train=False)
    reference, _ = data.get(torch.arange(min(len(data), 2000)))
    real_test, _ = held_out.get(torch.arange(min(len(held_out), 1000)))
    train_real, _ = data.get(torch.arange(min(len(data), 1000)))
    ceiling = gl.metrics.evaluate(clf, real_test, reference)

    print(f"size {args.size}, device {gl.device()}, torch threads {torch.get_num_threads()}")
    print(f"data: {data.source}; classifier held-out accuracy {acc:.4f}")
    print(f"{'recipe':<22}{'score':>8}{'Frechet':>9}{'min cls':>9}{'confid.':>9}{'s/upd':>9}{'updates':>8}")
    ceiling_share = min(ceiling["classes"]) / sum(ceiling["classes"])
    ceiling_confident = gl.metrics.confident_share(gl.metrics.probabilities(clf, real_test))
    print(f"{'real held-out digits':<22}{ceiling['mnist_score']:>8.2f}{ceiling['frechet']:>9.2f}"
          f"{ceiling_share:>9.3f}{ceiling_confident:>9.3f}", flush=True)
    results = [train(n, args.size, clf, reference, train_real, real_test, args.diagnose, args.grid, args.save)
               for n in names]
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"size": args.size, "threads": torch.get_num_threads(),
                       "ceiling": {"MNIST score": ceiling["mnist_score"], "Frechet": ceiling["frechet"],
                                   "min class share": ceiling_share}, "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
