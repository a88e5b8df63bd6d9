"""Train a preset from the command line, on one device or, under ``torchrun``, on several.

    python -m ganlib --preset dcgan-mnist --size book
    torchrun --nproc_per_node=4 -m ganlib --preset dcgan-faces --size full --sync-bn
    python -m ganlib --preset dcgan-mnist --size quick --set max_steps=20 --set lr=1e-4

The run is checkpointed to ``$GANLIB_RUNS/<preset>-<size>.pt`` (or ``--checkpoint``) and resumes from it when
started again; at the end rank 0 writes the progress player next to it (``.html``). See
ganlib/distributed.py for what each process does.

Floor 6 (the command line: it may use every module). Taught in: "Appendix: more than one GPU".
"""
from __future__ import annotations

import argparse
import ast
import sys

from . import checkpoint, data, faces, player, presets, toy1d, toy2d, train

# Which data each preset trains on (the chapters load the same).
MNIST = ("dcgan-mnist", "cgan-mnist", "mlp-mnist", "smallconv-mnist", "variants-mnist")
TOYS_2D = ("challenges-ring", "challenges-grid", "challenges-vanishing", "variants-ring")


def training_data(cfg):
    """The data preset ``cfg.name`` trains on (the whole of it; ``cfg.n_train`` keeps the first images)."""
    if cfg.name in MNIST:
        return data.mnist(cfg.image_size, n=cfg.n_train)
    if cfg.name == "dcgan-faces":
        return faces.load(cfg)
    if cfg.name.startswith("cifar10"):
        return data.cifar10(cfg.image_size, n=cfg.n_train)
    if cfg.name == "toy1d":
        return toy1d.dataset(toy1d.p_data(cfg), cfg.n_train, seed=cfg.seed)
    if cfg.name in TOYS_2D:
        return toy2d.dataset(cfg)
    raise SystemExit(f"Preset {cfg.name!r} is not trained by fit from the command line (it is an experiment of "
                     f"its chapter); use one of {', '.join(MNIST + ('dcgan-faces', 'cifar10-dcgan', 'toy1d') + TOYS_2D)}.")


def parse_override(text: str) -> tuple[str, object]:
    """``"lr=1e-4"`` -> ``("lr", 0.0001)`` (the value read as a Python literal, else kept as text)."""
    if "=" not in text:
        raise SystemExit(f"--set {text!r}: write field=value, e.g. --set lr=1e-4.")
    key, value = text.split("=", 1)
    try:
        return key.strip(), ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key.strip(), value


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ganlib", description=__doc__.splitlines()[0])
    ap.add_argument("--preset", required=True, help=f"one of: {', '.join(presets.PRESETS)}")
    ap.add_argument("--size", choices=("quick", "book", "full"), help="default: GANLIB_SIZE, else full on CUDA, book otherwise")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="override a Config field")
    ap.add_argument("--checkpoint", help="default: $GANLIB_RUNS/<preset>-<size>.pt")
    ap.add_argument("--sync-bn", action="store_true", help="under torchrun: BatchNorm over the global batch")
    ap.add_argument("--precision", choices=("fp32", "bf16", "fp16"), help="default: fp32 on a CPU, bf16/fp16 on a GPU")
    args = ap.parse_args(argv)
    try:
        cfg = presets.preset(args.preset, args.size, **dict(parse_override(s) for s in args.set))
    except (KeyError, TypeError, ValueError) as err:  # an unknown preset or field, an impossible value
        raise SystemExit(f"python -m ganlib: {err.args[0] if err.args else err}") from None
    path = args.checkpoint or checkpoint.run_path(cfg)
    from .models import build

    G, D = build(cfg)
    run = train.fit(G, D, training_data(cfg), cfg, checkpoint=path, sync_bn=args.sync_bn, precision=args.precision)
    if run.rank == 0:
        page = player.play(run).save(str(path).rsplit(".", 1)[0] + ".html", title=f"{cfg.name} ({cfg.size})")
        print(f"Done: {run.step} G updates on {run.world} process(es); checkpoint {path}; player {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
