"""How much the uint8 face cache saves: images per second decoding JPEGs once vs re-decoding every epoch.

Builds a CelebA-like folder (``<tmp>/celeba/img_align_celeba/*.jpg``, 178x218 JPEGs made from the offline
LFW faces, about CelebA's file size), then times:

1. ``ganlib.faces.celeba`` with an empty cache: list, decode, resize + crop, save the cache (once);
2. the same call in a "new session" (memory cache cleared): reads the cache file;
3. one epoch of training batches from the in-memory tensor (what every epoch costs in ganlib);
4. one epoch of the tutorial's loader: ImageFolder + Resize/CenterCrop/ToTensor/Normalize + DataLoader,
   which decodes every JPEG again in every epoch.

Usage: python benchmarks/faces_cache.py [--n 2000] [--size 64] [--workers 2] [--batch 128] [--threads 0]
On a shared machine the figures move with the load; compare them with each other.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def make_folder(root: Path, n: int) -> Path:
    """``n`` JPEGs of 178x218 in the CelebA layout, made from the 200 offline faces with colour tints."""
    from ganlib import faces

    images = root / "celeba" / "img_align_celeba"
    images.mkdir(parents=True)
    base = faces.offline_faces(25).images[:, 0].numpy()
    g = np.random.default_rng(0)
    for i in range(n):
        face = Image.fromarray(base[i % len(base)]).resize((178, 218), Image.BICUBIC)
        tint = g.uniform(0.7, 1.3, 3)
        rgb = np.clip(np.asarray(face, dtype=np.float32)[:, :, None] * tint, 0, 255).astype(np.uint8)
        Image.fromarray(rgb).save(images / f"{i + 1:06d}.jpg", quality=90)
    return root / "celeba"


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="number of JPEGs")
    parser.add_argument("--size", type=int, default=64, help="image_size")
    parser.add_argument("--workers", type=int, default=2, help="decoding processes (the tutorial's workers)")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["GANLIB_DATA"] = tmp
        from ganlib import faces
        import torchvision.datasets as dset
        import torchvision.transforms as T

        root, t_make = timed(lambda: make_folder(Path(tmp), args.n))
        kb = sum(p.stat().st_size for p in root.rglob("*.jpg")) / args.n / 1024
        print(f"{args.n} JPEGs of 178x218 ({kb:.1f} kB each; CelebA's average is about 7 kB), "
              f"image_size {args.size}, workers {args.workers}, torch threads {torch.get_num_threads()}")

        data, t_once = timed(lambda: faces.celeba(root, args.size, workers=args.workers, progress=False))
        cache = next((Path(tmp) / "cache").glob("faces-celeba-*.pt"))
        faces._MEMORY.clear()
        _, t_disk = timed(lambda: faces.celeba(root, args.size, workers=args.workers, progress=False))
        _, t_mem = timed(lambda: faces.celeba(root, args.size, progress=False))
        g = torch.Generator().manual_seed(0)
        _, t_epoch = timed(lambda: sum(x.shape[0] for x, _ in data.batches(args.batch, g)))

        tutorial = dset.ImageFolder(str(root), transform=T.Compose([
            T.Resize(args.size), T.CenterCrop(args.size), T.ToTensor(), T.Normalize((0.5,) * 3, (0.5,) * 3)]))
        loader = torch.utils.data.DataLoader(tutorial, batch_size=args.batch, shuffle=True,
                                             num_workers=args.workers)
        _, t_tut = timed(lambda: sum(x.shape[0] for x, _ in loader))

        n = args.n
        print(f"\n{'what':<58}{'seconds':>9}{'images/s':>11}")
        rows = [("decode once (list + hash + decode + save cache)", t_once),
                ("new session: read the cache file " + f"({cache.stat().st_size / 2**20:.1f} MB)", t_disk),
                ("same session: memory (the folder is listed again)", t_mem),
                ("one training epoch from the uint8 tensor (to [-1, 1])", t_epoch),
                ("one epoch of the tutorial's loader (decodes every JPEG)", t_tut)]
        for name, t in rows:
            print(f"{name:<58}{t:>9.3f}{n / max(t, 1e-9):>11,.0f}")
        celeba, epochs = 202_599, 5
        ours = celeba / (n / t_once) + (epochs - 1) * celeba / (n / max(t_epoch, 1e-9))
        theirs = epochs * celeba / (n / t_tut)
        print(f"\nExtrapolated to CelebA ({celeba:,} images) x {epochs} epochs, data work only:")
        print(f"  decode once, then memory: {ours / 60:6.1f} min   (later runs: {celeba / (n / t_disk) / 60:.1f} min "
              "to read the cache)")
        print(f"  re-decode every epoch:    {theirs / 60:6.1f} min")


if __name__ == "__main__":
    main()
