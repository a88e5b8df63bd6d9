"""Full size on one GPU: images per second of the PyTorch DCGAN tutorial's loop and of ganlib's ``fit`` on
the same models (DCGAN 64 px, ngf = ndf = 64, batch 128, the tutorial's CelebA setting), on synthetic
in-memory data. Prints both and their ratio (the target of the issue "Colab and GPUs": ganlib >= 3x).

    python benchmarks/gpu.py [--steps 200] [--compile]

ganlib's GPU path: bf16 autocast where the GPU has it (fp16 with a GradScaler otherwise), channels_last,
cuDNN autotuning, the uint8 images moved to the GPU once, statistics read back every 25 steps.
"""
import argparse
import time

import torch

import ganlib as gl
from tutorial_loop import timed_tutorial


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--image-size", type=int, default=64)
    args = ap.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("benchmarks/gpu.py needs a CUDA GPU (none is visible here).")
    dev = torch.device("cuda")
    cfg = gl.preset("dcgan-faces", size="full", nc=3, image_size=args.image_size, n_train=128 * (args.steps + 1),
                    max_steps=args.steps, num_epochs=1, snapshot_every=10_000, log_every=10_000)
    g = torch.Generator().manual_seed(0)
    data = gl.data.ImageData(torch.randint(0, 256, (cfg.n_train, 3, cfg.image_size, cfg.image_size), generator=g,
                                           dtype=torch.uint8), None, "synthetic")
    print(f"GPU: {torch.cuda.get_device_name(0)}; torch {torch.__version__}")
    G, D = gl.models.build(cfg)
    timed_tutorial(G.to(dev), D.to(dev), data, cfg, 20, dev)  # warm-up
    G, D = gl.models.build(cfg)
    tut = timed_tutorial(G.to(dev), D.to(dev), data, cfg, args.steps, dev)
    results = {"tutorial loop (fp32)": cfg.batch_size / tut}
    for precision in (None, "fp32"):
        G, D = gl.models.build(cfg)
        warm = cfg.replace(max_steps=20)
        gl.fit(G, D, data, warm, progress=False, snapshot=gl.train.blank_frame, device=dev, precision=precision)
        G, D = gl.models.build(cfg)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        run = gl.fit(G, D, data, cfg, progress=False, snapshot=gl.train.blank_frame, device=dev, precision=precision)
        torch.cuda.synchronize()
        results[f"ganlib fit ({run.precision})"] = cfg.batch_size * run.step / (time.perf_counter() - t0)
    for name, ips in results.items():
        print(f"{name:<28} {ips:8.0f} images/s   ratio to the tutorial {ips / results['tutorial loop (fp32)']:.2f}")


if __name__ == "__main__":
    main()
