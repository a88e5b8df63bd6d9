"""Generators and discriminators, and the DCGAN weight initialisation.

Conventions used by every model here:

* ``G(z, y=None)`` takes ``z`` of shape ``(B, nz)`` or ``(B, nz, 1, 1)`` and returns images
  ``(B, nc, H, W)`` in ``[-1, 1]`` (tanh output).
* ``D(x, y=None)`` takes images ``(B, nc, H, W)`` and returns **logits** of shape ``(B,)``;
  ``torch.sigmoid(D(x))`` is the probability that ``x`` is real. Losses work on logits because
  ``log(sigmoid(t))`` computed as ``-softplus(-t)`` never overflows.
* ``y`` is an integer class label ``(B,)``; it is used only when the model was built with
  ``n_classes > 0`` (conditional GAN chapter).

Taught in: "DCGAN on MNIST" (DCGAN, MLP, small conv), "DCGAN on faces" (project-and-reshape G),
"Conditional GAN" (the two-branch first layers).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import Config


# ---------------------------------------------------------------- label encodings (conditional GAN)
def one_hot(y: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Labels ``(B,)`` -> one-hot vectors ``(B, n_classes, 1, 1)``, the generator's label input."""
    return F.one_hot(y.long(), n_classes).float()[:, :, None, None]


def label_maps(y: torch.Tensor, n_classes: int, size: int) -> torch.Tensor:
    """Labels ``(B,)`` -> label maps ``(B, n_classes, size, size)``: plane ``y`` all ones, the rest zeros.

    This is how source 001 (section 12.5) shows the label to a convolutional discriminator.
    """
    return one_hot(y, n_classes).expand(-1, -1, size, size)


def _n_stages(image_size: int) -> int:
    if image_size not in (32, 64):
        raise ValueError(f"DCGAN models are built for 32 or 64 pixel images, not {image_size}. "
                         "Resize the data to 32 or 64 (cfg.image_size).")
    return int(math.log2(image_size)) - 2  # 64 px: 4 stages (4->8->16->32->64); 32 px: 3


# ---------------------------------------------------------------- DCGAN
class DCGANGenerator(nn.Module):
    """The DCGAN generator of the PyTorch tutorial (sources 001/002), for 32 or 64 px.

    z (B, nz, 1, 1) -> (ngf*8) x 4 x 4 -> (ngf*4) x 8 x 8 -> (ngf*2) x 16 x 16 -> ngf x 32 x 32 -> nc x 64 x 64.
    At 32 px the first stage is dropped: (ngf*4) x 4 x 4 -> ... -> nc x 32 x 32.
    With ``n_classes > 0`` the first layer has two branches, one for z and one for the one-hot label
    (each with half of the first layer's channels), concatenated (source 001, Fig. 15).
    """

    def __init__(self, nz: int = 100, ngf: int = 64, nc: int = 3, image_size: int = 64,
                 bias: bool = False, n_classes: int = 0):
        super().__init__()
        self.nz, self.nc, self.n_classes, self.image_size = nz, nc, n_classes, image_size
        stages = _n_stages(image_size)
        widths = [ngf * 2 ** i for i in reversed(range(stages))]  # 64 px: [8ngf, 4ngf, 2ngf, ngf]

        def first(c_in, c_out):  # 1x1 -> 4x4 "project" by a transposed conv
            return nn.Sequential(nn.ConvTranspose2d(c_in, c_out, 4, 1, 0, bias=bias),
                                 nn.BatchNorm2d(c_out), nn.ReLU(True))

        if n_classes:
            self.z_branch = first(nz, widths[0] // 2)
            self.y_branch = first(n_classes, widths[0] // 2)
        else:
            self.z_branch = first(nz, widths[0])
        layers = []
        for c_in, c_out in zip(widths[:-1], widths[1:]):  # each doubles the side: 4->8->16->32
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=bias), nn.BatchNorm2d(c_out), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(widths[-1], nc, 4, 2, 1, bias=bias), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.z_branch(z.view(z.shape[0], self.nz, 1, 1))
        if self.n_classes:
            if y is None:
                raise ValueError("This generator is conditional: call G(z, y) with class labels y.")
            h = torch.cat([h, self.y_branch(one_hot(y, self.n_classes))], dim=1)
        return self.main(h)


class DCGANDiscriminator(nn.Module):
    """The DCGAN discriminator of the PyTorch tutorial, for 32 or 64 px; returns logits ``(B,)``.

    nc x 64 x 64 -> ndf x 32 x 32 -> (ndf*2) x 16 x 16 -> (ndf*4) x 8 x 8 -> (ndf*8) x 4 x 4 -> 1.
    No BatchNorm on the first layer (DCGAN guideline); LeakyReLU(0.2) throughout; no sigmoid.
    With ``n_classes > 0`` the first layer has an image branch and a label-map branch (source 001 Fig. 15).
    """

    def __init__(self, ndf: int = 64, nc: int = 3, image_size: int = 64, bias: bool = False,
                 n_classes: int = 0):
        super().__init__()
        self.n_classes, self.image_size = n_classes, image_size
        stages = _n_stages(image_size)
        widths = [ndf * 2 ** i for i in range(stages)]  # 64 px: [ndf, 2ndf, 4ndf, 8ndf]

        def first(c_in, c_out):
            return nn.Sequential(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=bias), nn.LeakyReLU(0.2, inplace=True))

        if n_classes:
            self.x_branch = first(nc, widths[0] // 2)
            self.y_branch = first(n_classes, widths[0] // 2)
        else:
            self.x_branch = first(nc, widths[0])
        layers = []
        for c_in, c_out in zip(widths[:-1], widths[1:]):  # each halves the side: 32->16->8->4
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=bias), nn.BatchNorm2d(c_out),
                       nn.LeakyReLU(0.2, inplace=True)]
        layers += [nn.Conv2d(widths[-1], 1, 4, 1, 0, bias=bias)]  # 4x4 -> 1x1: one logit
        self.main = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.x_branch(x)
        if self.n_classes:
            if y is None:
                raise ValueError("This discriminator is conditional: call D(x, y) with class labels y.")
            h = torch.cat([h, self.y_branch(label_maps(y, self.n_classes, x.shape[-1]))], dim=1)
        return self.main(h).view(-1)


class ProjectGenerator(nn.Module):
    """Source 000's generator: a linear "project and reshape" layer, then DCGAN transposed convs.

    z (B, nz) -> Linear -> (B, ngf*8*16) -> reshape (ngf*8) x 4 x 4 -> ... -> nc x 64 x 64.
    Source 000 puts nothing between the projection and the first transposed conv (two linear maps in a
    row); we add a ReLU, which has no parameters, so the summary keeps source 000's 3,583,872.
    """

    def __init__(self, nz: int = 100, ngf: int = 64, nc: int = 3, image_size: int = 64, bias: bool = False):
        super().__init__()
        self.nz, self.c0 = nz, ngf * 2 ** (_n_stages(image_size) - 1)
        self.project = nn.Linear(nz, self.c0 * 4 * 4, bias=True)
        widths = [ngf * 2 ** i for i in reversed(range(_n_stages(image_size)))]
        layers = [nn.ReLU(True)]
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=bias), nn.BatchNorm2d(c_out), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(widths[-1], nc, 4, 2, 1, bias=bias), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.project(z.reshape(z.shape[0], self.nz))
        return self.main(h.view(z.shape[0], self.c0, 4, 4))  # source 000 wrote x.view(x.shape, ...)


# ---------------------------------------------------------------- fully connected (source 003)
class MLPGenerator(nn.Module):
    """A Goodfellow-style fully connected generator: z (B, nz) -> ngf -> 2ngf -> 4ngf -> nc*H*W (tanh)."""

    def __init__(self, nz: int = 100, ngf: int = 256, nc: int = 1, image_size: int = 28):
        super().__init__()
        self.nz, self.shape = nz, (nc, image_size, image_size)
        self.main = nn.Sequential(
            nn.Linear(nz, ngf), nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(ngf, ngf * 2), nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(ngf * 2, ngf * 4), nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(ngf * 4, nc * image_size * image_size), nn.Tanh())

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.main(z.reshape(z.shape[0], self.nz)).view(z.shape[0], *self.shape)


class MLPDiscriminator(nn.Module):
    """A fully connected discriminator: x (B, nc, H, W) -> 4ndf -> 2ndf -> ndf -> 1 logit ``(B,)``."""

    def __init__(self, ndf: int = 256, nc: int = 1, image_size: int = 28):
        super().__init__()
        self.main = nn.Sequential(
            nn.Flatten(),
            nn.Linear(nc * image_size * image_size, ndf * 4), nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(ndf * 4, ndf * 2), nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(ndf * 2, ndf), nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(ndf, 1))

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.main(x).view(-1)


# ---------------------------------------------------------------- small conv GAN (source 004)
class SmallConvGenerator(nn.Module):
    """Source 004's generator for 28x28: FC 1024, FC 7*7*(2ngf), then two 4x4 stride-2 transposed convs.

    z (B, nz) -> 1024 -> (2ngf) x 7 x 7 -> ngf x 14 x 14 -> nc x 28 x 28 (tanh). With ngf = 64 these are
    source 004's 128 and 64 channels. As in the source, each BatchNorm follows its ReLU.
    """

    def __init__(self, nz: int = 96, ngf: int = 64, nc: int = 1, image_size: int = 28):
        super().__init__()
        if image_size != 28:
            raise ValueError("Source 004's small conv GAN is built for 28x28 images.")
        self.nz, self.c0 = nz, 2 * ngf
        self.fc = nn.Sequential(
            nn.Linear(nz, 1024), nn.ReLU(True), nn.BatchNorm1d(1024),
            nn.Linear(1024, self.c0 * 7 * 7), nn.ReLU(True), nn.BatchNorm1d(self.c0 * 7 * 7))
        self.conv = nn.Sequential(
            nn.ConvTranspose2d(self.c0, ngf, 4, 2, 1), nn.ReLU(True), nn.BatchNorm2d(ngf),  # ngf x 14 x 14
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1), nn.Tanh())                                # nc x 28 x 28

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.fc(z.reshape(z.shape[0], self.nz))
        return self.conv(h.view(z.shape[0], self.c0, 7, 7))


class SmallConvDiscriminator(nn.Module):
    """Source 004's discriminator for 28x28: 5x5 conv ndf, max-pool, 5x5 conv 2ndf, max-pool, FC 1024, FC 1.

    nc x 28 x 28 -> ndf x 24 x 24 -> ndf x 12 x 12 -> (2ndf) x 8 x 8 -> (2ndf) x 4 x 4 -> 1024 -> 1 logit.
    LeakyReLU with slope 0.01, as in the source. With ndf = 32 these are source 004's 32 and 64 filters.
    """

    def __init__(self, ndf: int = 32, nc: int = 1, image_size: int = 28):
        super().__init__()
        if image_size != 28:
            raise ValueError("Source 004's small conv GAN is built for 28x28 images.")
        self.main = nn.Sequential(
            nn.Conv2d(nc, ndf, 5), nn.LeakyReLU(0.01), nn.MaxPool2d(2, 2),
            nn.Conv2d(ndf, 2 * ndf, 5), nn.LeakyReLU(0.01), nn.MaxPool2d(2, 2),
            nn.Flatten(), nn.Linear(2 * ndf * 4 * 4, 1024), nn.LeakyReLU(0.01),
            nn.Linear(1024, 1))

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.main(x).view(-1)


# ---------------------------------------------------------------- init and building
def init_weights(module: nn.Module, std: float = 0.02) -> nn.Module:
    """DCGAN initialisation, applied by layer type: conv/linear weights ~ N(0, std), BatchNorm scales
    ~ N(1, 0.02), all biases 0. The DCGAN paper uses std = 0.02 (source 000 wrote 0.2, source 001's MNIST
    notebooks drew BatchNorm scales from N(0, 0.02); both are corrected here). Returns ``module``."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return module


def build(cfg: Config, device: torch.device | str | None = None) -> tuple[nn.Module, nn.Module]:
    """Build and initialise ``(G, D)`` for ``cfg.arch`` (dcgan | project | mlp | smallconv).

    Seeds torch with ``cfg.seed`` first, so the same config always gives the same initial weights.
    """
    torch.manual_seed(cfg.seed)
    if cfg.arch == "dcgan":
        G = DCGANGenerator(cfg.nz, cfg.ngf, cfg.nc, cfg.image_size, cfg.bias, cfg.n_classes)
        D = DCGANDiscriminator(cfg.ndf, cfg.nc, cfg.image_size, cfg.bias, cfg.n_classes)
    elif cfg.arch == "project":
        G = ProjectGenerator(cfg.nz, cfg.ngf, cfg.nc, cfg.image_size, cfg.bias)
        D = DCGANDiscriminator(cfg.ndf, cfg.nc, cfg.image_size, cfg.bias)
    elif cfg.arch == "mlp":
        G = MLPGenerator(cfg.nz, cfg.ngf, cfg.nc, cfg.image_size)
        D = MLPDiscriminator(cfg.ndf, cfg.nc, cfg.image_size)
    elif cfg.arch == "smallconv":
        G = SmallConvGenerator(cfg.nz, cfg.ngf, cfg.nc, cfg.image_size)
        D = SmallConvDiscriminator(cfg.ndf, cfg.nc, cfg.image_size)
    else:
        raise ValueError(f"Unknown arch {cfg.arch!r}; use one of dcgan, project, mlp, smallconv.")
    if cfg.n_classes and cfg.arch != "dcgan":
        raise ValueError("Class conditioning is built into the dcgan arch only.")
    init_weights(G, cfg.init_std)
    init_weights(D, cfg.init_std)
    if device is not None:
        G, D = G.to(device), D.to(device)
    return G, D


def n_params(model: nn.Module) -> int:
    """Number of trainable parameters (the 'Total params' of a summary table)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def summary(model: nn.Module, nz_or_shape, y: bool = False, **kwargs):
    """A torchinfo summary table of ``model``; ``nz_or_shape`` is ``nz`` for a G or ``(C, H, W)`` for a D."""
    from torchinfo import summary as _summary

    shape = (2, nz_or_shape) if isinstance(nz_or_shape, int) else (2, *nz_or_shape)
    where = next(model.parameters()).device
    inputs = [torch.zeros(shape, device=where)]
    if y:
        inputs.append(torch.zeros(2, dtype=torch.long, device=where))
    kwargs.setdefault("col_names", ("output_size", "num_params"))
    kwargs.setdefault("depth", 3)
    was_training = model.training
    out = _summary(model, input_data=inputs, device=where, verbose=0, **kwargs)
    model.train(was_training)
    return out
