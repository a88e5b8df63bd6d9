"""Fixtures shared by the unit tests."""
import pytest
import torch

import ganlib as gl


@pytest.fixture
def tiny_cfg():
    """A DCGAN config small enough to train in well under a second per step on a CPU."""
    return gl.preset("dcgan-mnist", size="quick", n_train=96, batch_size=16, ngf=4, ndf=4, n_fixed=4,
                     snapshot_every=2, log_every=1000)


@pytest.fixture
def tiny_data(tiny_cfg):
    """96 random 'images' (uint8, 1x32x32) with labels: fast, and no dataset needed."""
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (tiny_cfg.n_train, 1, 32, 32), generator=g, dtype=torch.uint8)
    labels = torch.randint(0, 10, (tiny_cfg.n_train,), generator=g)
    return gl.data.ImageData(images, labels, "random test images")
