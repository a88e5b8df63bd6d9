"""Tests for ganlib.faces: the CelebA folder rules, decoding once with a cache, the fallbacks, and the
chapter's model summaries and small formulas."""
import io
import tarfile

import numpy as np
import pytest
import torch
from PIL import Image

import ganlib as gl
from ganlib import faces


def _jpeg(path, seed, size=(178, 218)):
    """A smooth random colour picture saved as JPEG (CelebA's aligned pictures are 178 x 218)."""
    g = np.random.default_rng(seed)
    small = g.integers(0, 256, (6, 5, 3), dtype=np.uint8)
    Image.fromarray(small).resize(size, Image.BILINEAR).save(path, quality=90)


@pytest.fixture
def data_root(tmp_path, monkeypatch):
    """An empty data root ($GANLIB_DATA) and an empty in-memory cache."""
    monkeypatch.setenv("GANLIB_DATA", str(tmp_path))
    monkeypatch.setattr(faces, "_MEMORY", {})
    return tmp_path


@pytest.fixture
def celeba_root(data_root):
    """data_root/celeba/img_align_celeba/000001.jpg ... 000006.jpg, the tutorial's layout."""
    images = data_root / "celeba" / "img_align_celeba"
    images.mkdir(parents=True)
    for i in range(6):
        _jpeg(images / f"{i + 1:06d}.jpg", i)
    return data_root / "celeba"


# ---------------------------------------------------------------- layout errors
def test_missing_folder_shows_layout_and_how_to_get_it(data_root):
    with pytest.raises(faces.FaceDataError) as err:
        faces.find_images("celeba")
    msg = str(err.value)
    assert str(data_root / "celeba") in msg and "img_align_celeba/" in msg
    assert "unzip img_align_celeba.zip" in msg and "kaggle" in msg.lower()


def test_empty_folder_is_explained(data_root):
    (data_root / "celeba").mkdir()
    with pytest.raises(faces.FaceDataError, match="empty"):
        faces.find_images("celeba")
    (data_root / "celeba" / "img_align_celeba").mkdir()  # a class folder without images
    with pytest.raises(faces.FaceDataError, match="hold no image files"):
        faces.find_images("celeba")


def test_pointing_at_the_images_folder_itself_names_the_parent(celeba_root):
    with pytest.raises(faces.FaceDataError) as err:
        faces.find_images(celeba_root / "img_align_celeba")
    msg = str(err.value)
    assert "6 images directly" in msg and "ImageFolder" in msg
    assert f"dataroot = {str(celeba_root)!r}" in msg


def test_imagefolder_rules_nested_folders_count_and_hidden_ones_do_not(celeba_root):
    (celeba_root / ".ipynb_checkpoints").mkdir()  # Jupyter leaves these; plain ImageFolder would fail
    nested = celeba_root / "img_align_celeba" / "img_align_celeba"  # the Kaggle zip's double folder
    nested.mkdir()
    _jpeg(nested / "000007.jpg", 7)
    _jpeg(celeba_root / "loose.jpg", 8)  # files directly in dataroot are not read, as in ImageFolder
    found = faces.find_images("celeba")
    assert [p.name for p in found] == [f"{i:06d}.jpg" for i in range(1, 7)] + ["000007.jpg"]


# ---------------------------------------------------------------- decoding and caching
def test_decoding_equals_the_tutorials_imagefolder_pipeline(celeba_root):
    import torchvision.datasets as dset
    import torchvision.transforms as T

    data = faces.celeba("celeba", image_size=32, progress=False)
    assert data.images.shape == (6, 3, 32, 32) and data.images.dtype == torch.uint8
    tutorial = dset.ImageFolder(str(celeba_root), transform=T.Compose([
        T.Resize(32), T.CenterCrop(32), T.ToTensor(), T.Normalize((0.5,) * 3, (0.5,) * 3)]))
    expected = torch.stack([tutorial[i][0] for i in range(len(tutorial))])
    torch.testing.assert_close(gl.data.to_float(data.images), expected, atol=1e-6, rtol=0)


def test_a_corrupt_file_is_named_and_can_be_skipped(celeba_root):
    good = (celeba_root / "img_align_celeba" / "000001.jpg").read_bytes()
    (celeba_root / "img_align_celeba" / "000099.jpg").write_bytes(good[: len(good) // 3])  # truncated
    with pytest.raises(faces.FaceDataError) as err:
        faces.celeba("celeba", image_size=16, progress=False)
    msg = str(err.value)
    assert "1 of 7 files" in msg and "000099.jpg" in msg and "skip_bad=True" in msg
    assert "img_align_celeba/" in msg  # the layout is shown again
    with pytest.warns(UserWarning, match="left out 1"):
        data = faces.celeba("celeba", image_size=16, skip_bad=True, progress=False)
    assert len(data) == 6


def test_cache_decodes_once_then_reads_disk_then_memory(celeba_root, monkeypatch):
    calls = []
    real_decode = faces.decode_image
    monkeypatch.setattr(faces, "decode_image", lambda *a, **k: calls.append(a[0]) or real_decode(*a, **k))
    first = faces.celeba("celeba", image_size=16, progress=False)
    assert len(calls) == 6
    cache_files = list((celeba_root.parent / "cache").glob("faces-celeba-*-16px.pt"))
    assert len(cache_files) == 1
    faces._MEMORY.clear()  # a new session: the disk cache answers, nothing is decoded
    second = faces.celeba("celeba", image_size=16, progress=False)
    assert len(calls) == 6 and torch.equal(first.images, second.images)
    assert faces.celeba("celeba", image_size=16, progress=False) is second  # same session: memory
    _jpeg(celeba_root / "img_align_celeba" / "000010.jpg", 10)  # the folder changed: decode again
    third = faces.celeba("celeba", image_size=16, progress=False)
    assert len(calls) == 6 + 7 and len(third) == 7
    torch.testing.assert_close(third.images[:6], first.images)
    # training batches come from the tensor: iterating an epoch decodes nothing
    list(third.batches(2, torch.Generator().manual_seed(0)))
    assert len(calls) == 13


def test_n_decodes_only_the_first_files(celeba_root):
    data = faces.celeba("celeba", image_size=16, n=4, progress=False)
    full = faces.celeba("celeba", image_size=16, progress=False)
    assert len(data) == 4 and torch.equal(data.images, full.images[:4])


# ---------------------------------------------------------------- LFW and the offline faces
def _lfw_tree(root, n=3):
    for i in range(n):
        person = root / "lfw-deepfunneled" / f"Person_{i}"
        person.mkdir(parents=True)
        _jpeg(person / f"Person_{i}_0001.jpg", 20 + i, size=(250, 250))


def test_lfw_from_folder_and_from_tgz(data_root, tmp_path_factory):
    with pytest.raises(faces.FaceDataError, match="download=False"):
        faces.lfw(16, download=False, progress=False)
    src = tmp_path_factory.mktemp("src")
    _lfw_tree(src)
    with tarfile.open(data_root / "lfw-deepfunneled.tgz", "w:gz") as tar:
        tar.add(src / "lfw-deepfunneled", arcname="lfw-deepfunneled")
    from_tgz = faces.lfw(16, download=False, progress=False)  # extracts the archive
    assert from_tgz.images.shape == (3, 3, 16, 16)
    assert (data_root / "lfw-deepfunneled" / "Person_2" / "Person_2_0001.jpg").is_file()
    cropped = faces.lfw(16, download=False, crop=150, progress=False)
    expected = faces.decode_image(data_root / "lfw-deepfunneled" / "Person_0" / "Person_0_0001.jpg", 16, 150)
    assert torch.equal(cropped.images[0], expected) and not torch.equal(cropped.images, from_tgz.images)


def test_load_takes_lfw_when_celeba_is_missing(data_root, capsys):
    _lfw_tree(data_root)
    cfg = gl.preset("dcgan-faces", size="book", nc=1, image_size=32)
    data = faces.load(cfg, progress=False)
    assert data.images.shape == (3, 1, 32, 32) and "LFW" in data.source
    assert "no usable CelebA" in capsys.readouterr().out


def test_offline_faces_are_skimages_faces_and_their_mirrors():
    from skimage.data import lfw_subset

    data = faces.offline_faces(25)
    assert data.images.shape == (200, 1, 25, 25)
    expected = torch.from_numpy(np.round(lfw_subset()[:100] * 255)).to(torch.uint8)
    assert torch.equal(data.images[:100, 0], expected)
    assert torch.equal(data.images[100:], data.images[:100].flip(-1))
    assert faces.offline_faces(32, flip=False).images.shape == (100, 1, 32, 32)


def test_load_falls_back_loudly_and_gives_the_shape_cfg_asks_for(data_root, capsys):
    cfg = gl.preset("dcgan-faces", size="book", nc=3, image_size=64)
    cfg = cfg.replace(extra={**cfg.extra, "dataset": "auto", "download": False})
    with pytest.warns(UserWarning, match="OFFLINE FALLBACK"):
        data = faces.load(cfg, progress=False)
    assert "unzip img_align_celeba.zip" in capsys.readouterr().err  # how to get CelebA is shown
    assert data.images.shape == (200, 3, 64, 64)
    assert torch.equal(data.images[:, 0], data.images[:, 2])  # gray faces repeated into RGB
    with pytest.raises(faces.FaceDataError):
        faces.load(cfg.replace(extra={**cfg.extra, "dataset": "celeba"}), progress=False)


def test_load_prefers_celeba_when_it_is_there(celeba_root):
    cfg = gl.preset("dcgan-faces", size="book", nc=3, image_size=32)
    cfg = cfg.replace(extra={**cfg.extra, "dataset": "auto"}, dataroot="celeba", n_train=None)
    data = faces.load(cfg, progress=False)
    assert data.images.shape == (6, 3, 32, 32) and "CelebA" in data.source


def test_rgb_to_gray_matches_pil():
    g = np.random.default_rng(0)
    rgb = g.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    data = gl.data.ImageData(torch.from_numpy(rgb).permute(2, 0, 1)[None].contiguous())
    gray = faces.to_channels(data, 1).images[0, 0].numpy().astype(int)
    pil = np.asarray(Image.fromarray(rgb).convert("L")).astype(int)
    assert np.abs(gray - pil).max() <= 1


# ---------------------------------------------------------------- models, presets, formulas
def test_summaries_match_the_sources_tables():
    cfg = gl.preset("dcgan-faces", size="full")
    G, D = gl.models.build(cfg)
    Gp, _ = gl.models.build(cfg.replace(arch="project"))
    totals = {name: gl.models.summary(net, arg).total_params
              for name, net, arg in (("G", G, cfg.nz), ("D", D, (3, 64, 64)), ("Gp", Gp, cfg.nz))}
    assert totals == {"G": 3_576_704, "D": 2_765_568, "Gp": 3_583_872}  # sources 001/002 and 000
    assert totals["G"] == gl.models.n_params(G) and totals["Gp"] == gl.models.n_params(Gp)
    assert gl.models.n_params(Gp.project) == 100 * 8192 + 8192  # source 000's Linear-1: 827,392


def test_full_preset_is_the_sources_setting():
    cfg = gl.preset("dcgan-faces", size="full")
    assert (cfg.image_size, cfg.nc, cfg.nz, cfg.ngf, cfg.ndf) == (64, 3, 100, 64, 64)
    assert (cfg.batch_size, cfg.num_epochs, cfg.lr, cfg.beta1, cfg.seed) == (128, 5, 2e-4, 0.5, 999)
    assert (cfg.init_std, cfg.real_label, cfg.n_fixed, cfg.snapshot_every) == (0.02, 1.0, 64, 500)


def test_run_inputs_lists_sources_twelve_inputs_with_explanations():
    cfg = gl.preset("dcgan-faces", size="full")
    inputs = faces.RunInputs.from_config(cfg)
    lines = inputs.table().splitlines()
    names = ["dataroot", "workers", "batch_size", "image_size", "nc", "nz", "ngf", "ndf", "num_epochs",
             "lr", "beta1", "ngpu"]
    assert [line.split()[0] for line in lines] == names
    assert all(len(line.split(None, 2)[2]) > 20 for line in lines)  # every input is explained
    assert inputs.batch_size == 128 and inputs.dataroot.endswith("celeba")


def test_smoothed_d_star_maximises_the_smoothed_objective():
    d = np.linspace(1e-4, 1 - 1e-4, 200_001)
    for p_data, p_g, alpha in ((0.3, 0.7, 1.0), (0.3, 0.7, 0.9), (2.0, 0.5, 0.9), (1.0, 1e-3, 0.9)):
        # target alpha on real, 0 on fake: p_data [a log D + (1-a) log(1-D)] + p_g log(1-D)
        value = p_data * (alpha * np.log(d) + (1 - alpha) * np.log1p(-d)) + p_g * np.log1p(-d)
        assert faces.smoothed_d_star(p_data, p_g, alpha) == pytest.approx(d[value.argmax()], abs=1e-4)


def test_forward_macs_counts_each_layer_kind():
    from torch import nn

    assert faces.forward_macs(nn.Conv2d(3, 5, 4, 2, 1), torch.zeros(2, 3, 8, 8)) == 5 * 4 * 4 * 3 * 16
    assert faces.forward_macs(nn.ConvTranspose2d(4, 2, 4, 2, 1), torch.zeros(1, 4, 3, 3)) == 4 * 9 * 2 * 16
    assert faces.forward_macs(nn.Linear(7, 3), torch.zeros(5, 7)) == 21
    G, _ = gl.models.build(gl.preset("dcgan-faces", size="full"))
    by_layer = 100 * 512 * 16 + 512 * 16 * 256 * 16 + 256 * 64 * 128 * 16 + 128 * 256 * 64 * 16 + 64 * 1024 * 3 * 16
    assert faces.forward_macs(G.eval(), torch.zeros(2, 100)) == by_layer


def test_a_large_init_std_saturates_the_generators_tanh():
    cfg = gl.preset("dcgan-faces", size="full", image_size=32, nc=1)  # ngf = 64: 256 inputs per output pixel
    real = gl.data.to_float(faces.offline_faces(cfg.image_size).images[:32])
    effect = faces.init_effect(cfg, real, stds=(0.02, 0.2), n=32)
    assert effect[0.02]["saturated"] < 0.05 < effect[0.2]["saturated"]
    assert effect[0.2]["logit_sd"] > effect[0.02]["logit_sd"]


def test_nearest_finds_the_closest_picture_and_can_skip_copies():
    g = torch.Generator().manual_seed(0)
    pool = torch.rand(10, 1, 4, 4, generator=g) * 2 - 1
    pool[9] = pool[3].flip(-1)  # a mirror copy, as in the offline set
    queries = pool[[2, 3]] + 0.01
    idx, dist = faces.nearest(queries, pool)
    assert idx.tolist() == [2, 3]
    torch.testing.assert_close(dist, ((queries - pool[[2, 3]]) ** 2).flatten(1).mean(1), rtol=1e-5, atol=1e-7)
    idx, dist = faces.nearest(pool[[3]], pool, exclude_self=True)
    brute = [((pool[3] - pool[j]) ** 2).mean().item() for j in range(10)]
    others = [j for j in range(10) if j not in (3, 9)]
    best = min(others, key=lambda j: brute[j])
    assert idx.item() == best and dist.item() == pytest.approx(brute[best], rel=1e-5)


def test_an_unreadable_cache_file_is_rebuilt(celeba_root):
    first = faces.celeba("celeba", image_size=16, progress=False)
    cache = next((celeba_root.parent / "cache").glob("faces-celeba-*-16px.pt"))
    cache.write_bytes(b"not a torch file")
    faces._MEMORY.clear()
    with pytest.warns(UserWarning, match="unreadable"):
        again = faces.celeba("celeba", image_size=16, progress=False)
    assert torch.equal(again.images, first.images)
    faces._MEMORY.clear()
    assert torch.equal(faces.celeba("celeba", image_size=16, progress=False).images, first.images)  # fixed on disk
