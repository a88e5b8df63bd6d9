"""The PyTorch DCGAN tutorial's training step (sources 001/002), written out as the yardstick ganlib's ``fit``
is timed against (benchmarks/cpu_step.py on a CPU, benchmarks/gpu.py on a GPU).

One step: D on the real batch (label 1), D on G(z).detach() (label 0), one D update; then D on the SAME
fakes with label 1 for G's update. Sigmoid + BCELoss as in the tutorial; one ``.item()`` per statistic.
"""
import torch
from torch import nn


def tutorial_step(G, D, opt_g, opt_d, real, nz, criterion=None):
    """One iteration of the tutorial's loop on ``real (B, C, H, W)``; returns Loss_D, Loss_G, D(x), D(G(z))."""
    criterion = criterion or nn.BCELoss()
    b = real.shape[0]
    ones = torch.full((b,), 1.0, device=real.device)
    zeros = torch.full((b,), 0.0, device=real.device)
    D.zero_grad()
    out_real = torch.sigmoid(D(real))
    err_real = criterion(out_real, ones)
    err_real.backward()
    fake = G(torch.randn(b, nz, 1, 1, device=real.device))
    out_fake = torch.sigmoid(D(fake.detach()))
    err_fake = criterion(out_fake, zeros)
    err_fake.backward()
    opt_d.step()
    G.zero_grad()
    out = torch.sigmoid(D(fake))
    err_g = criterion(out, ones)
    err_g.backward()
    opt_g.step()
    return (err_real + err_fake).item(), err_g.item(), out_real.mean().item(), out.mean().item()


def timed_tutorial(G, D, data, cfg, steps: int, device) -> float:
    """Seconds per step of the tutorial loop on ``data`` (ganlib ImageData, batches already in memory)."""
    import time

    from ganlib.data import to_float

    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    images = data.images.to(device)
    g = torch.Generator().manual_seed(0)
    t0, done = time.perf_counter(), 0
    while done < steps:
        for i in torch.randperm(len(images), generator=g).split(cfg.batch_size):
            if len(i) < cfg.batch_size or done == steps:
                break
            tutorial_step(G, D, opt_g, opt_d, to_float(images[i.to(images.device)]), cfg.nz)
            done += 1
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t0) / steps
