"""ganlib.models: every architecture behind build(cfg) (image nets and the toy MLPs), shapes, parameter counts
against the sources' tables, the DCGAN initialisation (image nets only), PacGAN, the mlp helper, and the
multiply-adds of the full-size faces DCGAN."""

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


def test_spectral_normalise_bounds_every_layer_and_drops_batchnorm():
    torch.manual_seed(0)
    D = M.spectral_normalise(M.init_weights(M.DCGANDiscriminator(ndf=8, nc=1, image_size=32)))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in D.modules())
    x = torch.randn(16, 1, 32, 32)
    for _ in range(30):  # the power iteration refines sigma at each training forward pass
        D(x)
    D.eval()
    assert D(x).shape == (16,)
    convs = [m for m in D.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 4
    for conv in convs:  # the weight D uses has largest singular value 1 (as a matrix c_out x c_in*k*k)
        sigma = torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2)
        assert sigma.item() == pytest.approx(1.0, abs=0.02)
    cfg = gl.preset("dcgan-mnist", size="quick", spectral_norm=True)
    _, D_cfg = M.build(cfg)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in D_cfg.modules())
    assert hasattr(D_cfg.main[0], "parametrizations")


# ---------------------------------------------------------------- chapter 4: sizes, upsampling, D's last layer
def test_transposed_convolution_size_formula_matches_pytorch():
    for size in (1, 3, 4, 7):
        for kernel, stride, padding, out_pad in ((4, 1, 0, 0), (4, 2, 1, 0), (3, 2, 1, 1), (5, 3, 2, 2)):
            layer = nn.ConvTranspose2d(1, 1, kernel, stride, padding, output_padding=out_pad)
            expected = layer(torch.zeros(1, 1, size, size)).shape[-1]
            assert M.conv_transpose_size(size, kernel, stride, padding, out_pad) == expected
            conv = nn.Conv2d(1, 1, kernel, stride, padding)
            if size + 2 * padding >= kernel:
                assert M.conv_size(size, kernel, stride, padding) == conv(torch.zeros(1, 1, size, size)).shape[-1]


def test_the_dcgan_chain_1_4_8_16_32_64():
    sides = [1]
    for kernel, stride, padding in [(4, 1, 0)] + [(4, 2, 1)] * 4:
        sides.append(M.conv_transpose_size(sides[-1], kernel, stride, padding))
    assert sides == [1, 4, 8, 16, 32, 64]


@pytest.mark.parametrize("upsample", ["convtranspose", "resize"])
@pytest.mark.parametrize("size", [32, 64])
def test_generator_upsampling_option(upsample, size):
    cfg = gl.preset("dcgan-faces", size="quick", image_size=size, upsample=upsample)
    G, D = M.build(cfg)
    x = G(torch.randn(3, cfg.nz))
    assert x.shape == (3, cfg.nc, size, size) and D(x).shape == (3,)
    kinds = {type(m) for m in G.main.modules()}
    assert (nn.Upsample in kinds) == (upsample == "resize")
    assert (nn.ConvTranspose2d in kinds) == (upsample == "convtranspose")  # the 1x1 -> 4x4 layer is in z_branch
    Gp, _ = M.build(cfg.replace(arch="project"))
    assert Gp(torch.randn(2, cfg.nz)).shape == (2, cfg.nc, size, size)


def test_unknown_upsampling_is_refused():
    with pytest.raises(ValueError, match="upsample"):
        gl.preset("dcgan-faces", size="quick", upsample="bilinear")
    with pytest.raises(ValueError, match="upsample"):
        M.upsample_layer(4, 4, "pixelshuffle")
    with pytest.raises(ValueError, match="upsample"):
        M.build(gl.preset("dcgan-mnist", size="quick", arch="mlp", image_size=28, upsample="resize"))


def test_resize_convolution_has_no_checkerboard_on_a_constant_input():
    torch.manual_seed(0)
    x = torch.ones(1, 8, 6, 6)
    with torch.no_grad():
        resize = M.upsample_layer(8, 1, "resize")(x)[0, 0]
        transposed = M.upsample_layer(8, 1, "convtranspose")(x)[0, 0]
    inner = slice(1, -1)
    assert torch.allclose(resize[inner, inner], resize[1, 1].expand(10, 10), atol=1e-6)   # flat inside
    t = transposed[inner, inner]
    assert torch.allclose(t[::2, ::2], t[0, 0].expand(5, 5), atol=1e-6)                   # period 2 ...
    assert (t[0, 0] - t[0, 1]).abs() > 1e-3 and (t[0, 0] - t[1, 1]).abs() > 1e-3          # ... and uneven


def test_overlap_counts_of_stride_2_transposed_convolutions():
    one = torch.ones(1, 1, 4, 4)
    k3 = torch.nn.functional.conv_transpose2d(one, torch.ones(1, 1, 3, 3), stride=2)[0, 0]
    k4 = torch.nn.functional.conv_transpose2d(one, torch.ones(1, 1, 4, 4), stride=2, padding=1)[0, 0]
    assert set(k3[1:-1, 1:-1].unique().tolist()) == {1.0, 2.0, 4.0}    # uneven overlap: kernel 3, stride 2
    assert set(k4[1:-1, 1:-1].unique().tolist()) == {4.0}              # even: the kernel is a multiple of the stride


def test_ds_last_convolution_is_a_dense_layer_on_the_flattened_features():
    D = M.DCGANDiscriminator(ndf=4, nc=1, image_size=32)
    last = D.main[-1]
    assert isinstance(last, nn.Conv2d) and last.kernel_size == (4, 4) and last.padding == (0, 0)
    dense = nn.Linear(last.in_channels * 16, 1, bias=False)
    with torch.no_grad():
        dense.weight.copy_(last.weight.reshape(1, -1))
        h = torch.randn(5, last.in_channels, 4, 4)
        assert torch.allclose(last(h).view(-1), dense(h.flatten(1)).view(-1), atol=1e-6)


def test_slerp_has_one_home():
    assert gl.conditional.slerp is M.slerp
    a, b = torch.randn(100), torch.randn(100)
    path = M.slerp(a, b, torch.linspace(0, 1, 5))
    assert torch.allclose(path[0], a, atol=1e-5) and torch.allclose(path[-1], b, atol=1e-5)
    lo, hi = sorted((a.norm().item(), b.norm().item()))
    assert ((path.norm(dim=1) >= lo - 1e-4) & (path.norm(dim=1) <= hi + 1e-4)).all()


# ---------------------------------------------------------------- every arch behind build(cfg)
ARCH_CASES = [  # (arch, fields, G's output shape per sample, D's input shape per sample)
    ("dcgan", dict(image_size=32, nc=1, ngf=8, ndf=8), (1, 32, 32), (1, 32, 32)),
    ("dcgan", dict(image_size=64, nc=3, ngf=4, ndf=4), (3, 64, 64), (3, 64, 64)),
    ("dcgan", dict(image_size=32, nc=1, ngf=8, ndf=8, n_classes=10), (1, 32, 32), (1, 32, 32)),
    ("project", dict(image_size=64, nc=3, ngf=4, ndf=4), (3, 64, 64), (3, 64, 64)),
    ("mlp", dict(image_size=28, nc=1, ngf=8, ndf=8), (1, 28, 28), (1, 28, 28)),
    ("smallconv", dict(image_size=28, nc=1, ngf=8, ndf=8), (1, 28, 28), (1, 28, 28)),
    ("mlp1d", dict(nz=1, ngf=16, ndf=16), (1,), (1,)),
    ("toy2d", dict(nz=2, ngf=16, ndf=16), (2,), (2,)),
    ("toy2d", dict(nz=3, ngf=16, ndf=16, pack=2), (2,), (2,)),
]


@pytest.mark.parametrize("arch, fields, g_shape, d_shape", ARCH_CASES,
                         ids=[f"{a}-{'-'.join(f'{k}{v}' for k, v in f.items())}" for a, f, _, _ in ARCH_CASES])
def test_build_makes_every_arch_with_the_right_shapes(arch, fields, g_shape, d_shape):
    cfg = gl.Config(arch=arch, **fields)
    G, D = M.build(cfg)
    y = torch.arange(6) % 10 if cfg.n_classes else None
    x = G(torch.randn(6, cfg.nz), y)
    assert x.shape == (6, *g_shape)
    if arch not in ("mlp1d", "toy2d"):
        assert x.min() >= -1 and x.max() <= 1  # tanh output
    assert D(x, y).shape == (6 // cfg.pack,)
    assert D(torch.randn(6, *d_shape), y).shape == (6 // cfg.pack,)
    assert M.n_params(G) > 0 and M.n_params(D) > 0


def test_build_refuses_what_it_cannot_build():
    with pytest.raises(ValueError, match="Unknown arch 'resnet'; use one of dcgan, project, mlp, smallconv, mlp1d, toy2d"):
        M.build(gl.Config(arch="resnet"))
    with pytest.raises(ValueError, match=r"pack=2: the packed \(PacGAN\) discriminator is built for the toy2d arch only"):
        M.build(gl.Config(arch="dcgan", image_size=32, ngf=4, ndf=4, pack=2))
    with pytest.raises(ValueError, match="pack=2"):
        M.build(gl.Config(arch="mlp1d", nz=1, ngf=4, ndf=4, pack=2))
    with pytest.raises(ValueError, match="Class conditioning is built into the dcgan arch only"):
        M.build(gl.Config(arch="mlp", image_size=28, ngf=4, ndf=4, n_classes=10))
    _, D = M.build(gl.Config(arch="toy2d", nz=2, ngf=4, ndf=4, pack=2))  # the good path
    assert D.pack == 2


@pytest.mark.parametrize("arch, fields", [("mlp1d", dict(nz=1, g_activation="smooth_leaky_relu", g_sharpness=4.0)),
                                          ("toy2d", dict(nz=2, g_depth=3, d_depth=1)),
                                          ("toy2d", dict(nz=2, pack=2))])
def test_toy_nets_keep_pytorchs_default_initialisation(arch, fields):
    cfg = gl.Config(arch=arch, ngf=12, ndf=10, seed=5, **fields)
    G, D = M.build(cfg)
    # the same modules made by hand after the same seed, with nothing applied to them
    torch.manual_seed(cfg.seed)
    d, act = (1, "leaky_relu") if arch == "mlp1d" else (2, "relu")
    G0 = M.PointGenerator(cfg.nz, cfg.ngf, cfg.g_depth, d, cfg.g_activation, cfg.g_sharpness)
    D0 = M.PointDiscriminator(d, cfg.ndf, cfg.d_depth, act, cfg.pack)
    for net, ref in ((G, G0), (D, D0)):
        for (name, a), b in zip(net.state_dict().items(), ref.state_dict().values()):
            assert torch.equal(a, b), name
    biases = torch.cat([m.bias for m in G.modules() if isinstance(m, nn.Linear)])
    assert (biases != 0).all()  # PyTorch's uniform bias init, not the DCGAN zeros


@pytest.mark.parametrize("arch, size", [("dcgan", 32), ("project", 64), ("mlp", 28), ("smallconv", 28)])
def test_image_nets_get_the_dcgan_initialisation(arch, size):
    cfg = gl.Config(arch=arch, image_size=size, nc=1, ngf=8, ndf=8, bias=True, init_std=0.05, seed=3)
    G, D = M.build(cfg)
    for net in (G, D):
        weights = torch.cat([m.weight.flatten() for m in net.modules()
                             if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))])
        assert weights.std().item() == pytest.approx(0.05, rel=0.05)
        assert all(torch.count_nonzero(m.bias) == 0 for m in net.modules()
                   if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.BatchNorm1d, nn.BatchNorm2d))
                   and m.bias is not None)
    G2, D2 = M.build(cfg)  # seeded: the same config gives the same weights
    for a, b in zip(list(G.state_dict().values()) + list(D.state_dict().values()),
                    list(G2.state_dict().values()) + list(D2.state_dict().values())):
        assert torch.equal(a, b)


def test_build_uses_config_fields_and_seed():
    cfg = gl.Config(arch="toy2d", nz=4, ngf=12, ndf=10, seed=5, g_depth=3, d_depth=1)
    G, D = M.build(cfg)
    assert G.main[0].in_features == 4 and G.main[0].out_features == 12
    assert D.main[0].out_features == 10
    assert sum(isinstance(m, nn.Linear) for m in G.modules()) == 4
    assert sum(isinstance(m, nn.Linear) for m in D.modules()) == 2
    G2, _ = M.build(cfg)
    torch.testing.assert_close(G.main[0].weight, G2.main[0].weight)
    G3, _ = M.build(cfg.replace(seed=6))
    assert not torch.equal(G.main[0].weight, G3.main[0].weight)
    D_relu = [m for m in D.modules() if isinstance(m, (nn.ReLU, nn.LeakyReLU))]
    assert D_relu and all(type(m) is nn.ReLU for m in D_relu)  # 2-D toys: ReLU D (Metz et al.)
    _, D1 = M.build(gl.Config(arch="mlp1d", nz=1, ngf=4, ndf=4))
    assert all(type(m) is nn.LeakyReLU for m in D1.modules() if isinstance(m, (nn.ReLU, nn.LeakyReLU)))


def test_toy_models_have_the_library_signatures():
    cfg = gl.preset("toy1d", size="quick")
    G, D = M.build(cfg)
    z = torch.randn(7, cfg.nz)
    x = G(z)
    assert x.shape == (7, 1) and D(x).shape == (7,) and D(x, None).shape == (7,)
    assert G(z, torch.zeros(7)).shape == (7, 1)  # y is accepted and ignored
    assert G(torch.randn(7, cfg.nz, 1, 1)).shape == (7, 1)  # (B, nz, 1, 1) noise too
    G2, _ = M.build(cfg)
    torch.testing.assert_close(G2(z), x)  # same seed, same weights
    smooth = [m for m in G.modules() if isinstance(m, M.SmoothLeakyReLU)]
    assert len(smooth) == cfg.g_depth and all(m.sharpness == cfg.g_sharpness for m in smooth)


def test_point_nets_shapes_and_depths():
    G, D = M.PointGenerator(nz=3, width=16, depth=3), M.PointDiscriminator(width=8, depth=1)
    assert G(torch.randn(5, 3)).shape == (5, 2)
    assert G(torch.randn(5, 3, 1, 1)).shape == (5, 2)
    assert D(torch.randn(7, 2)).shape == (7,)
    assert sum(isinstance(m, nn.Linear) for m in G.modules()) == 4
    assert sum(isinstance(m, nn.Linear) for m in D.modules()) == 2
    with pytest.raises(ValueError, match="pack must be at least 1, got 0"):
        M.PointDiscriminator(width=8, depth=1, pack=0)
    with pytest.raises(ValueError, match=r"d_depth=0 is impossible"):  # a Config refuses a D without hidden layers
        gl.Config(arch="toy2d", d_depth=0)


def test_packed_discriminator_judges_packs():
    D = M.PointDiscriminator(width=8, depth=1, pack=3)
    x = torch.randn(12, 2)
    out = D(x)
    assert out.shape == (4,)
    # pack j is samples 3j, 3j+1, 3j+2 side by side
    torch.testing.assert_close(out[1], D.main(x[3:6].reshape(1, 6)).view(()))
    with pytest.raises(ValueError, match="divisible"):
        D(torch.randn(10, 2))
    G, D = M.build(gl.Config(arch="toy2d", nz=2, ngf=8, ndf=8, pack=2))
    assert D.pack == 2 and D.main[0].in_features == 4


# ---------------------------------------------------------------- the mlp helper and the activations
def test_mlp_layers_and_activations():
    net = M.mlp([3, 5, 7, 2], "tanh")
    kinds = [type(m) for m in net]
    assert kinds == [nn.Linear, nn.Tanh, nn.Linear, nn.Tanh, nn.Linear]  # none after the last layer
    assert [(m.in_features, m.out_features) for m in net if isinstance(m, nn.Linear)] == [(3, 5), (5, 7), (7, 2)]
    assert net(torch.randn(4, 3)).shape == (4, 2)
    assert [type(m) for m in M.mlp([2, 1])] == [nn.Linear]  # no hidden layer: one linear map
    for name in M.ACTIVATIONS:
        assert isinstance(M.mlp([2, 4, 1], name)[1], nn.Module)
    smooth = M.mlp([1, 4, 1], "smooth_leaky_relu", sharpness=3.0)[1]
    assert isinstance(smooth, M.SmoothLeakyReLU) and smooth.sharpness == 3.0
    with pytest.raises(ValueError, match=r"Unknown activation 'nope'; use one of relu, leaky_relu"):
        M.mlp([2, 4, 1], "nope")
    with pytest.raises(ValueError, match="Unknown activation"):
        M.PointGenerator(activation="nope")
    with pytest.raises(ValueError, match=r"at least two layer sizes, each >= 1; got \[3\]"):
        M.mlp([3])
    with pytest.raises(ValueError, match=r"got \[3, 0, 1\]"):
        M.mlp([3, 0, 1])


def test_smooth_leaky_relu_is_the_closed_form_and_never_flat():
    f = M.SmoothLeakyReLU(slope=0.2, sharpness=4.0)
    x = torch.linspace(-6, 6, 121, dtype=torch.float64, requires_grad=True)
    y = f(x)
    expect = 0.2 * x + 0.8 * torch.log1p(torch.exp(4.0 * x)) / 4.0
    torch.testing.assert_close(y, expect)
    (slope,) = torch.autograd.grad(y.sum(), x)
    assert slope.min() >= 0.2 - 1e-12 and slope.max() <= 1.0 + 1e-12  # never flat, never steeper than 1
    assert (slope[1:] >= slope[:-1]).all()  # convex: the slope rises from 0.2 to 1
    assert slope[0].item() == pytest.approx(0.2, abs=1e-9) and slope[-1].item() == pytest.approx(1.0, abs=1e-9)
    # sharper means closer to the LeakyReLU
    lrelu = nn.LeakyReLU(0.2)(x.detach())
    err = [(M.SmoothLeakyReLU(0.2, s)(x.detach()) - lrelu).abs().max().item() for s in (1.0, 4.0, 16.0)]
    assert err[0] > err[1] > err[2] and err[2] < 0.8 * 0.7 / 16 + 1e-9  # at most 0.8 ln 2 / sharpness


# ---------------------------------------------------------------- multiply-adds (ganlib.faces.forward_macs)
def test_forward_macs_of_the_full_faces_dcgan():
    """FlopCounterMode's count of one forward pass at full size (64 px, colour, ngf = ndf = 64): the figure the
    old hand-written per-layer counter gave."""
    cfg = gl.preset("dcgan-faces", size="full")
    G, D = M.build(cfg)
    macs_g = gl.faces.forward_macs(G, torch.zeros(2, cfg.nz))
    macs_d = gl.faces.forward_macs(D, torch.zeros(2, cfg.nc, cfg.image_size, cfg.image_size))
    assert (macs_g, macs_d) == (104_628_224, 103_817_216)
    assert gl.faces.forward_macs(G, torch.zeros(1, cfg.nz)) == macs_g  # per sample
    assert G.training and D.training  # eval mode only while counting
    # the transposed convs of G by hand: c_in * c_out * 16 per output pixel of each layer's input grid
    by_hand = sum(c_in * c_out * 16 * side * side for c_in, c_out, side in
                  [(100, 512, 1), (512, 256, 4), (256, 128, 8), (128, 64, 16), (64, 3, 32)])
    assert by_hand == macs_g
