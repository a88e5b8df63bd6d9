"""Data parallelism with PyTorch's own engine: ``torchrun`` starts the processes, DistributedDataParallel
(DDP) averages the gradients. ``fit`` uses it by itself when it runs under ``torchrun`` (``WORLD_SIZE`` > 1).

What each process does (rank r of W):

* every rank holds the whole uint8 data set in memory and the same shuffle (the run's seeded RNG); each
  global batch of ``cfg.batch_size`` is split into W equal shares and rank r trains on share r;
* noise is drawn for the whole global batch from the shared RNG and sliced the same way, so the W ranks
  together see exactly the batch a single process would, and their RNGs never drift apart;
* DDP averages G's and D's gradients over the ranks in every backward pass, so the weights stay equal;
  BatchNorm still normalises each rank's share with its own statistics (``sync_bn=True``: SyncBatchNorm
  normalises with the global batch's statistics, at the cost of one more exchange per BatchNorm layer);
* rank 0 alone takes snapshots, prints and writes checkpoints; every rank can resume from it. Callbacks run
  on every rank (a learning-rate schedule must change every rank's optimiser alike).

Floor 1 (imports nothing from ganlib). Taught in: "Appendix: more than one GPU".
"""
from __future__ import annotations

import os

import torch
from torch import nn


def world_size() -> int:
    """The number of processes ``torchrun`` started (1 outside torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def setup(device: torch.device | None = None) -> tuple[int, int, torch.device | None]:
    """Join the process group of a ``torchrun`` launch (once): returns ``(rank, world, device)``.

    Outside torchrun: ``(0, 1, device)``. Under torchrun: the NCCL backend on CUDA (each process on GPU
    ``LOCAL_RANK``), gloo on the CPU.
    """
    world = world_size()
    if world == 1:
        return 0, 1, device
    import torch.distributed as dist

    if torch.cuda.is_available() and (device is None or device.type == "cuda"):
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        device, backend = torch.device("cpu"), "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend)
    return dist.get_rank(), dist.get_world_size(), device


def wrap(net: nn.Module, device: torch.device, sync_bn: bool = False) -> nn.Module:
    """``net`` inside DistributedDataParallel (with SyncBatchNorm layers if ``sync_bn``)."""
    import inspect

    from torch.nn.parallel import DistributedDataParallel as DDP

    if sync_bn:
        if device.type != "cuda":
            raise ValueError("sync_bn: SyncBatchNorm runs on GPUs only; train without --sync-bn on the CPU.")
        net = nn.SyncBatchNorm.convert_sync_batchnorm(net)
    ids = [device.index] if device.type == "cuda" else None
    # BatchNorm buffers go from rank 0 to every rank before each forward (newer PyTorch renamed the option)
    sync = ({"forward_sync_buffers": True} if "forward_sync_buffers" in inspect.signature(DDP.__init__).parameters
            else {"broadcast_buffers": True})
    return DDP(net, device_ids=ids, **sync)


def unwrap(net: nn.Module) -> nn.Module:
    """The plain module inside a DDP wrapper (``net`` itself otherwise)."""
    return net.module if hasattr(net, "module") and type(net).__name__ == "DistributedDataParallel" else net


def share(n_global: int, rank: int, world: int) -> slice:
    """Rank ``rank``'s part of a global batch of ``n_global`` samples (``n_global`` divisible by ``world``)."""
    if n_global % world:
        raise ValueError(f"batch_size={n_global} does not split into {world} equal shares; use a multiple of {world}.")
    n = n_global // world
    return slice(rank * n, (rank + 1) * n)
