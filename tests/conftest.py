"""Fixtures shared by the unit tests."""
import pytest
import torch
from torch import nn

import ganlib as gl

CPU = torch.device("cpu")


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


@pytest.fixture
def one_thread():
    """Tiny nets run faster on one thread (and much faster on a busy machine); restored afterwards."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def float64():
    """Make float64 torch's default dtype for one test (finite differences need it); restored afterwards."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


# ---------------------------------------------------------------- a stand-in MNIST classifier
class PixelClassifier(nn.Module):
    """Reads the class from the mean brightness; its features are 3 pixel statistics."""

    def features(self, x):
        return torch.stack([x.mean((1, 2, 3)), x.std((1, 2, 3)), x[:, 0, 0, 0]], 1)

    def forward(self, x):
        level = ((x.mean((1, 2, 3)) + 1) / 2 * 10).floor().clamp(0, 9).long()
        return torch.nn.functional.one_hot(level, 10).float() * 20


def images_of(classes, noise=0.02, seed=0):
    """Images whose mean brightness encodes the class: the value (c + 0.5)/10 mapped to [-1, 1], plus noise."""
    g = torch.Generator().manual_seed(seed)
    level = (classes.float() + 0.5) / 10 * 2 - 1
    return (level[:, None, None, None] + noise * torch.randn(len(classes), 1, 32, 32, generator=g)).clamp(-1, 1)


@pytest.fixture
def pixel_classifier():
    """A classifier that reads a digit's class from its mean brightness (see :func:`images_of`)."""
    return PixelClassifier()


@pytest.fixture(name="images_of")
def images_of_fixture():
    """``images_of(classes, noise=0.02, seed=0)``: images (N, 1, 32, 32) that PixelClassifier reads as ``classes``."""
    return images_of
