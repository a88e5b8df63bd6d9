import math

import pytest
import torch
from torch import nn

import ganlib as gl
from ganlib import models as M


@pytest.mark.parametrize("size", [32, 64])
@pytest.mark.parametrize("nc", [1, 3])
def test_dcgan_shapes(size, nc):
    G = M.DCGANGenerator(nz=16, ngf=4, nc=nc, image_size=size)
    D = M.DCGANDiscriminator(ndf=4, nc=nc, image_size=size)
    x = G(torch.randn(5, 16))
    assert x.shape == (5, nc, size, size)
    assert x.min() >= -1 and x.max() <= 1
    assert G(torch.randn(5, 16, 1, 1)).shape == (5, nc, size, size)
    assert D(x).shape == (5,)


def test_parameter_counts_match_the_sources_tables():
    # PyTorch tutorial (001/002) and source 000's summary tables, 64 px, nc = 3
    assert M.n_params(M.DCGANGenerator(100, 64, 3, 64)) == 3_576_704
    assert M.n_params(M.DCGANDiscriminator(64, 3, 64)) == 2_765_568
    assert M.n_params(M.ProjectGenerator(100, 64, 3, 64)) == 3_583_872


def test_mnist_full_network_is_the_doubled_tutorial_with_biases():
    cfg = gl.preset("dcgan-mnist", size="full")
    G, D = M.build(cfg)
    # independent count of 001's Fig. 10 network: (c_in * c_out * 16 + c_out bias) per conv, 2c per BatchNorm
    g_convs = [(100, 1024), (1024, 512), (512, 256), (256, 128), (128, 1)]
    d_convs = [(1, 128), (128, 256), (256, 512), (512, 1024), (1024, 1)]
    g_bn, d_bn = [1024, 512, 256, 128], [256, 512, 1024]
    expect_g = sum(a * b * 16 + b for a, b in g_convs) + sum(2 * c for c in g_bn)
    expect_d = sum(a * b * 16 + b for a, b in d_convs) + sum(2 * c for c in d_bn)
    assert (M.n_params(G), M.n_params(D)) == (expect_g, expect_d)
    assert G(torch.randn(2, 100)).shape == (2, 1, 64, 64)


def test_init_statistics():
    G = M.init_weights(M.DCGANGenerator(100, 64, 3, 64), std=0.02)
    convs = torch.cat([m.weight.flatten() for m in G.modules() if isinstance(m, nn.ConvTranspose2d)])
    bns = torch.cat([m.weight.flatten() for m in G.modules() if isinstance(m, nn.BatchNorm2d)])
    assert convs.mean().item() == pytest.approx(0.0, abs=1e-3)
    assert convs.std().item() == pytest.approx(0.02, rel=0.01)
    assert bns.mean().item() == pytest.approx(1.0, abs=0.005)
    assert bns.std().item() == pytest.approx(0.02, rel=0.15)
    assert all(torch.count_nonzero(m.bias) == 0 for m in G.modules() if isinstance(m, nn.BatchNorm2d))
    wide = M.init_weights(M.DCGANGenerator(100, 64, 3, 64), std=0.2)
    w = torch.cat([m.weight.flatten() for m in wide.modules() if isinstance(m, nn.ConvTranspose2d)])
    assert w.std().item() == pytest.approx(0.2, rel=0.01)


def test_build_is_seeded_and_d_returns_logits():
    cfg = gl.preset("dcgan-mnist", size="quick")
    (G1, D1), (G2, D2) = M.build(cfg), M.build(cfg)
    for a, b in zip(G1.state_dict().values(), G2.state_dict().values()):
        torch.testing.assert_close(a, b)
    out = D1(torch.rand(8, 1, 32, 32) * 2 - 1)
    assert out.shape == (8,)
    assert not any(isinstance(m, nn.Sigmoid) for m in D1.modules())


def test_conditional_models_use_the_label():
    G = M.DCGANGenerator(nz=8, ngf=8, nc=1, image_size=32, n_classes=10).eval()
    D = M.DCGANDiscriminator(ndf=8, nc=1, image_size=32, n_classes=10).eval()
    z = torch.randn(4, 8)
    a, b = G(z, torch.tensor([0, 1, 2, 3])), G(z, torch.tensor([5, 5, 5, 5]))
    assert a.shape == (4, 1, 32, 32)
    assert (a - b).abs().max() > 1e-4
    assert D(a, torch.tensor([0, 1, 2, 3])).shape == (4,)
    with pytest.raises(ValueError, match="conditional"):
        G(z)
    maps = M.label_maps(torch.tensor([3]), 10, 32)
    assert maps.shape == (1, 10, 32, 32) and maps[0, 3].sum() == 32 * 32 and maps.sum() == 32 * 32


def test_other_architectures():
    for arch, size in (("mlp", 28), ("smallconv", 28), ("project", 64)):
        cfg = gl.preset("dcgan-mnist", size="quick", arch=arch, image_size=size, ngf=8, ndf=8)
        G, D = M.build(cfg)
        x = G(torch.randn(3, cfg.nz))
        assert x.shape == (3, 1, size, size) and D(x).shape == (3,)


def test_impossible_image_size_says_what_to_do():
    with pytest.raises(ValueError, match="32 or 64"):
        M.DCGANGenerator(image_size=48)


def test_summary_total_equals_parameter_count():
    G = M.DCGANGenerator(100, 64, 3, 64)
    assert M.summary(G, 100).total_params == 3_576_704
    D = M.DCGANDiscriminator(64, 3, 64)
    assert M.summary(D, (3, 64, 64)).total_params == 2_765_568
