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
from .util import eval_mode


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


UPSAMPLES = ("convtranspose", "resize")


def upsample_layer(c_in: int, c_out: int, upsample: str = "convtranspose", bias: bool = False) -> nn.Module:
    """One x2 upsampling layer of a DCGAN generator: ``(B, c_in, H, W)`` -> ``(B, c_out, 2H, 2W)``.

    ``"convtranspose"``: the DCGAN's ``ConvTranspose2d(kernel 4, stride 2, padding 1)``. ``"resize"``:
    resize-convolution (Odena et al. 2016): nearest-neighbour x2 upsampling, then ``Conv2d(kernel 3,
    padding 1)``; every output pixel then sees the same number of input pixels, so a constant input gives
    a constant output away from the border, whatever the weights (no checkerboard pattern).

    Taught in: "DCGAN on faces" (chapter 4: checkerboard artefacts).
    """
    if upsample == "convtranspose":
        return nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=bias)
    if upsample == "resize":
        return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, 3, 1, 1, bias=bias))
    raise ValueError(f"upsample={upsample!r}; use one of {', '.join(UPSAMPLES)}.")


# ---------------------------------------------------------------- DCGAN
class DCGANGenerator(nn.Module):
    """The DCGAN generator of the PyTorch tutorial (sources 001/002), for 32 or 64 px.

    z (B, nz, 1, 1) -> (ngf*8) x 4 x 4 -> (ngf*4) x 8 x 8 -> (ngf*2) x 16 x 16 -> ngf x 32 x 32 -> nc x 64 x 64.
    At 32 px the first stage is dropped: (ngf*4) x 4 x 4 -> ... -> nc x 32 x 32.
    With ``n_classes > 0`` the first layer has two branches, one for z and one for the one-hot label
    (each with half of the first layer's channels), concatenated (source 001, Fig. 15).
    ``upsample="resize"`` replaces every stride-2 transposed conv by :func:`upsample_layer`'s
    resize-convolution (the first layer, 1x1 -> 4x4, stays a transposed conv: it has no overlap).
    """

    def __init__(self, nz: int = 100, ngf: int = 64, nc: int = 3, image_size: int = 64,
                 bias: bool = False, n_classes: int = 0, upsample: str = "convtranspose"):
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
            layers += [upsample_layer(c_in, c_out, upsample, bias), nn.BatchNorm2d(c_out), nn.ReLU(True)]
        layers += [upsample_layer(widths[-1], nc, upsample, bias), nn.Tanh()]
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
    ``upsample``: as in :class:`DCGANGenerator`.
    """

    def __init__(self, nz: int = 100, ngf: int = 64, nc: int = 3, image_size: int = 64, bias: bool = False,
                 upsample: str = "convtranspose"):
        super().__init__()
        self.nz, self.c0 = nz, ngf * 2 ** (_n_stages(image_size) - 1)
        self.project = nn.Linear(nz, self.c0 * 4 * 4, bias=True)
        widths = [ngf * 2 ** i for i in reversed(range(_n_stages(image_size)))]
        layers = [nn.ReLU(True)]
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            layers += [upsample_layer(c_in, c_out, upsample, bias), nn.BatchNorm2d(c_out), nn.ReLU(True)]
        layers += [upsample_layer(widths[-1], nc, upsample, bias), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.project(z.reshape(z.shape[0], self.nz))
        return self.main(h.view(z.shape[0], self.c0, 4, 4))  # source 000 wrote x.view(x.shape, ...)


# ---------------------------------------------------------------- multilayer perceptrons (toys; source 003)
class SmoothLeakyReLU(nn.Module):
    """slope * x + (1 - slope) * softplus(sharpness * x) / sharpness: a LeakyReLU with the kink rounded off
    over about 1 / sharpness.

    Its slope stays in [slope, 1], so a generator built from it is smooth *and* never flat: p_g has neither
    the kinks of a piecewise-linear G nor the cliff of a G whose units all saturate (ELU, tanh: mass piled up
    at an edge). Both would give D* features no smooth D can follow.
    """

    def __init__(self, slope: float = 0.2, sharpness: float = 1.0):
        super().__init__()
        self.slope, self.sharpness = slope, sharpness

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.slope * x + (1.0 - self.slope) * F.softplus(x, beta=self.sharpness)


ACTIVATIONS = {"relu": lambda sharpness: nn.ReLU(),
               "leaky_relu": lambda sharpness: nn.LeakyReLU(0.2),
               "smooth_leaky_relu": lambda sharpness: SmoothLeakyReLU(0.2, sharpness),
               "tanh": lambda sharpness: nn.Tanh(), "elu": lambda sharpness: nn.ELU()}


def mlp(sizes: list[int], activation: str = "relu", sharpness: float = 1.0) -> nn.Sequential:
    """Linear layers ``sizes[0] -> sizes[1] -> ... -> sizes[-1]`` with ``activation`` between them (none after
    the last). ``activation``: a key of :data:`ACTIVATIONS`; ``sharpness``: for ``smooth_leaky_relu`` only."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"Unknown activation {activation!r}; use one of {', '.join(ACTIVATIONS)}.")
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"An MLP needs at least two layer sizes, each >= 1; got {sizes}.")
    layers = []
    for n_in, n_out in zip(sizes[:-2], sizes[1:-1]):
        layers += [nn.Linear(n_in, n_out), ACTIVATIONS[activation](sharpness)]
    return nn.Sequential(*layers, nn.Linear(sizes[-2], sizes[-1]))


class PointGenerator(nn.Module):
    """z ``(B, nz)`` -> ``depth`` hidden layers of ``width`` -> a point ``(B, d_out)`` (linear output, no tanh:
    toy data is not confined to [-1, 1]). ``y`` is accepted and ignored (the common calling convention)."""

    def __init__(self, nz: int = 2, width: int = 128, depth: int = 2, d_out: int = 2, activation: str = "relu",
                 sharpness: float = 1.0):
        super().__init__()
        self.nz = nz
        self.main = mlp([nz] + [width] * depth + [d_out], activation, sharpness)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.main(z.reshape(z.shape[0], self.nz))


class PointDiscriminator(nn.Module):
    """A point ``(B, d_in)`` -> ``depth`` hidden layers of ``width`` -> one logit (or critic score) ``(B,)``.

    With ``pack = m > 1`` it is PacGAN's discriminator (Lin et al. 2018): it judges ``m`` samples at once,
    the batch ``(B, d)`` read as ``B / m`` packs ``(B / m, m d)``, and returns one logit per pack ``(B / m,)``.
    A pack of fakes from a collapsed G has ``m`` near-identical points, which real packs rarely have, so D
    can see the collapse that a one-sample D cannot. The losses are batch means, so they work unchanged.
    """

    def __init__(self, d_in: int = 2, width: int = 128, depth: int = 2, activation: str = "relu", pack: int = 1):
        super().__init__()
        if pack < 1:
            raise ValueError(f"pack must be at least 1, got {pack}.")
        self.d_in, self.pack = d_in, pack
        self.main = mlp([d_in * pack] + [width] * depth + [1], activation)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if x.shape[0] % self.pack:
            raise ValueError(f"A packed discriminator (pack={self.pack}) needs a batch size divisible by "
                             f"{self.pack}; got {x.shape[0]}. Change cfg.batch_size.")
        return self.main(x.reshape(x.shape[0] // self.pack, self.d_in * self.pack)).view(-1)


class MLPGenerator(nn.Module):
    """A Goodfellow-style fully connected generator: z (B, nz) -> ngf -> 2ngf -> 4ngf -> nc*H*W (tanh)."""

    def __init__(self, nz: int = 100, ngf: int = 256, nc: int = 1, image_size: int = 28):
        super().__init__()
        self.nz, self.shape = nz, (nc, image_size, image_size)
        self.main = nn.Sequential(*mlp([nz, ngf, ngf * 2, ngf * 4, nc * image_size * image_size], "leaky_relu"),
                                  nn.Tanh())

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.main(z.reshape(z.shape[0], self.nz)).view(z.shape[0], *self.shape)


class MLPDiscriminator(nn.Module):
    """A fully connected discriminator: x (B, nc, H, W) -> 4ndf -> 2ndf -> ndf -> 1 logit ``(B,)``."""

    def __init__(self, ndf: int = 256, nc: int = 1, image_size: int = 28):
        super().__init__()
        self.main = nn.Sequential(nn.Flatten(),
                                  *mlp([nc * image_size * image_size, ndf * 4, ndf * 2, ndf, 1], "leaky_relu"))

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
    """DCGAN initialisation, applied by layer type: conv/linear weights ~ N(0, std^2), BatchNorm
    scales ~ N(1, 0.02^2) (standard deviations std and 0.02), all biases 0. The DCGAN paper uses std = 0.02
    (source 000 wrote 0.2, source 001's MNIST notebooks drew BatchNorm scales from N(0, 0.02^2); both are
    corrected here). Returns ``module``."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return module


ARCHS = ("dcgan", "project", "mlp", "smallconv", "mlp1d", "toy2d")


def build(cfg: Config, device: torch.device | str | None = None) -> tuple[nn.Module, nn.Module]:
    """Build and initialise ``(G, D)`` for ``cfg.arch``, one of :data:`ARCHS`.

    Image nets (dcgan, project, mlp, smallconv) get the DCGAN initialisation (:func:`init_weights`); the toy
    MLPs (mlp1d: points in R, toy2d: points in R^2, PacGAN with ``cfg.pack`` > 1) keep PyTorch's default
    initialisation, which suits small MLPs. Seeds torch with ``cfg.seed`` first, so the same config always
    gives the same initial weights.
    """
    torch.manual_seed(cfg.seed)
    if cfg.arch == "dcgan":
        G = DCGANGenerator(cfg.nz, cfg.ngf, cfg.nc, cfg.image_size, cfg.bias, cfg.n_classes, cfg.upsample)
        D = DCGANDiscriminator(cfg.ndf, cfg.nc, cfg.image_size, cfg.bias, cfg.n_classes)
    elif cfg.arch == "project":
        G = ProjectGenerator(cfg.nz, cfg.ngf, cfg.nc, cfg.image_size, cfg.bias, cfg.upsample)
        D = DCGANDiscriminator(cfg.ndf, cfg.nc, cfg.image_size, cfg.bias)
    elif cfg.arch == "mlp":
        G = MLPGenerator(cfg.nz, cfg.ngf, cfg.nc, cfg.image_size)
        D = MLPDiscriminator(cfg.ndf, cfg.nc, cfg.image_size)
    elif cfg.arch == "smallconv":
        G = SmallConvGenerator(cfg.nz, cfg.ngf, cfg.nc, cfg.image_size)
        D = SmallConvDiscriminator(cfg.ndf, cfg.nc, cfg.image_size)
    elif cfg.arch in ("mlp1d", "toy2d"):  # 1-D toys: LeakyReLU D; 2-D toys: ReLU D (Metz et al.)
        d, d_act = (1, "leaky_relu") if cfg.arch == "mlp1d" else (2, "relu")
        G = PointGenerator(cfg.nz, cfg.ngf, cfg.g_depth, d, cfg.g_activation, cfg.g_sharpness)
        D = PointDiscriminator(d, cfg.ndf, cfg.d_depth, d_act, cfg.pack)
    else:
        raise ValueError(f"Unknown arch {cfg.arch!r}; use one of {', '.join(ARCHS)}.")
    if cfg.n_classes and cfg.arch != "dcgan":
        raise ValueError("Class conditioning is built into the dcgan arch only.")
    if cfg.upsample != "convtranspose" and cfg.arch not in ("dcgan", "project"):
        raise ValueError(f"upsample={cfg.upsample!r}: G's upsampling is a choice of the dcgan and project archs only.")
    if cfg.pack != 1 and cfg.arch != "toy2d":
        raise ValueError(f"pack={cfg.pack}: the packed (PacGAN) discriminator is built for the toy2d arch only.")
    if cfg.arch not in ("mlp1d", "toy2d"):
        init_weights(G, cfg.init_std)
        init_weights(D, cfg.init_std)
    if cfg.spectral_norm:
        spectral_normalise(D)
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
    with eval_mode(model):
        return _summary(model, input_data=inputs, device=where, verbose=0, **kwargs)


# ---------------------------------------------------------------- size arithmetic and latent paths
def conv_transpose_size(size: int, kernel: int, stride: int = 1, padding: int = 0, output_padding: int = 0) -> int:
    """Side of a ``ConvTranspose2d`` output: ``(size - 1) * stride - 2 * padding + kernel + output_padding``.

    E.g. the DCGAN generator: 1 -> 4 (kernel 4, stride 1, padding 0), then 4 -> 8 -> 16 -> 32 -> 64 (kernel 4,
    stride 2, padding 1). Taught in: "DCGAN on faces" (chapter 4: transposed-convolution arithmetic).
    """
    return (size - 1) * stride - 2 * padding + kernel + output_padding


def conv_size(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """Side of a ``Conv2d`` output: ``floor((size + 2 * padding - kernel) / stride) + 1`` (the inverse map of
    :func:`conv_transpose_size` when that has ``output_padding = 0``). Taught in: "DCGAN on faces" (chapter 4)."""
    return (size + 2 * padding - kernel) // stride + 1


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between latent vectors ``a``, ``b`` ``(nz,)`` at times ``t`` ``(T,)`` -> ``(T, nz)``.

    Follows the great circle through the directions of ``a`` and ``b`` and blends their lengths linearly,
    so every point keeps a length typical of N(0, I) samples; the straight line would pass close to the
    origin, where G has seen no z in training (about sqrt(nz/2) instead of sqrt(nz) at the midpoint).

    Taught in: "DCGAN on faces" (chapter 4: walking between two faces), "Conditional GAN" (chapter 6).
    """
    t = torch.as_tensor(t, dtype=a.dtype).view(-1, 1)
    na, nb = a.norm(), b.norm()
    ua, ub = a / na, b / nb
    omega = torch.arccos((ua @ ub).clamp(-1.0, 1.0))
    if omega.abs() < 1e-6:  # (almost) the same direction: the straight line is the arc
        direction = (1 - t) * ua + t * ub
    else:
        direction = (torch.sin((1 - t) * omega) * ua + torch.sin(t * omega) * ub) / torch.sin(omega)
    return direction * ((1 - t) * na + t * nb)


# ---------------------------------------------------------------- spectral normalisation (Miyato et al. 2018)
def spectral_normalise(D: nn.Module) -> nn.Module:
    """SN-GAN's discriminator from any D: every conv / linear weight W is used as W / sigma(W), sigma its largest
    singular value (estimated by one power iteration per training forward pass, torch's ``spectral_norm``
    parametrization), so each layer is at most 1-Lipschitz; D's BatchNorm layers become identities (SN-GAN's D
    has none: the normalisation is the weights'). Changes ``D`` in place and returns it; call it after
    :func:`init_weights` (``build`` does, when ``cfg.spectral_norm``). Input and output shapes are unchanged.

    Taught in: "DCGAN on MNIST" (section "Beyond the sources' recipe").
    """
    for module in list(D.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, nn.modules.batchnorm._BatchNorm):
                setattr(module, name, nn.Identity())
            elif isinstance(child, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                nn.utils.parametrizations.spectral_norm(child)
    return D
