"""Tests for ganlib.faces: the CelebA folder rules, decoding once with a cache, the fallbacks, and the
chapter's model summaries and small formulas."""
import dataclasses
import io
import tarfile
import warnings

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


def _chapter(cfg, **settings):
    """``cfg`` with some of its chapter settings (``cfg.chapter``, a ``gl.config.Faces``) changed."""
    return cfg.replace(chapter=dataclasses.replace(cfg.chapter, **settings))


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
    with pytest.warns(UserWarning, match="no usable CelebA"):  # the fallback is loud: a warning and a box
        data = faces.load(cfg, progress=False)
    assert data.images.shape == (3, 1, 32, 32) and "LFW" in data.source
    err = capsys.readouterr().err
    assert "falls back to LFW" in err and "img_align_celeba" in err  # and it says what was wrong with CelebA


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
    cfg = _chapter(cfg, dataset="auto", download=False)
    with pytest.warns(UserWarning, match="OFFLINE FALLBACK"):
        data = faces.load(cfg, progress=False)
    assert "unzip img_align_celeba.zip" in capsys.readouterr().err  # how to get CelebA is shown
    assert data.images.shape == (200, 3, 64, 64)
    assert torch.equal(data.images[:, 0], data.images[:, 2])  # gray faces repeated into RGB
    with pytest.raises(faces.FaceDataError):
        faces.load(_chapter(cfg, dataset="celeba"), progress=False)


def test_load_prefers_celeba_when_it_is_there(celeba_root):
    cfg = gl.preset("dcgan-faces", size="book", nc=3, image_size=32)
    cfg = _chapter(cfg, dataset="auto").replace(dataroot="celeba", n_train=None)
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


# ---------------------------------------------------------------- nothing lost and nothing silent
def test_face_arguments_are_checked_before_any_file_is_read(celeba_root, monkeypatch):
    good = faces.celeba("celeba", image_size=8, n=2, progress=False)  # the smallest side allowed works
    assert good.images.shape == (2, 3, 8, 8)
    monkeypatch.setattr(faces, "decode_image", lambda *a, **k: pytest.fail("a file was decoded"))
    for size in (0, -1, 7, 1025, 1e9, 32.0):
        with pytest.raises(ValueError) as err:
            faces.celeba("celeba", image_size=size, progress=False)
        msg = str(err.value)
        assert f"faces.celeba: image_size={size!r}" in msg and "from 8 to 1024" in msg
        assert "unzip" not in msg and "1.4 GB" not in msg  # the files are not blamed, no re-download advised
    for n in (-5, 0, 2.5, True):
        with pytest.raises(ValueError, match=rf"faces.celeba: n={n!r}.*None \(all images\) or an int >= 1"):
            faces.celeba("celeba", image_size=16, n=n, progress=False)
    with pytest.raises(ValueError, match=r"faces.lfw: image_size=0 "):
        faces.lfw(0, download=False, progress=False)
    with pytest.raises(ValueError, match=r"faces.lfw: crop=0 .*centred square"):
        faces.lfw(16, download=False, crop=0, progress=False)
    with pytest.raises(ValueError, match=r"faces.offline_faces: image_size=1000000000 "):
        faces.offline_faces(10 ** 9)
    cfg = gl.preset("dcgan-faces", size="book", nc=3, image_size=32)
    with pytest.raises(ValueError, match="image_size=0"):  # refused by the config or, at the latest, by load
        faces.load(cfg.replace(image_size=0), progress=False)


def test_a_missing_lfw_names_where_to_get_it(data_root):
    with pytest.raises(faces.FaceDataError) as err:
        faces.lfw(16, download=False, progress=False)
    msg = str(err.value)
    assert str(data_root) in msg and "download=False" in msg
    assert faces.LFW_URL in msg and faces.LFW_MIRROR in msg and "download=True" in msg


def _lfw_tgz(path, src, n=6):
    """lfw-deepfunneled/<name>/<name>_0001.jpg for n people, packed as path (.tgz); returns its bytes."""
    _lfw_tree(src, n)
    with tarfile.open(path, "w:gz") as tar:
        tar.add(src / "lfw-deepfunneled", arcname="lfw-deepfunneled")
    return path.read_bytes()


def test_a_truncated_lfw_archive_is_named_never_half_used_and_auto_falls_back(data_root, tmp_path_factory,
                                                                                capsys):
    archive = data_root / "lfw-deepfunneled.tgz"
    whole = _lfw_tgz(archive, tmp_path_factory.mktemp("src"))
    archive.write_bytes(whole[: len(whole) * 2 // 3])  # an interrupted download: the first people are complete
    for _ in range(2):  # the second call fails the same way: nothing half-extracted is picked up
        with pytest.raises(faces.FaceDataError) as err:
            faces.lfw(16, download=False, progress=False)
        msg = str(err.value)
        assert str(archive) in msg and "damaged or incomplete" in msg and "Delete it" in msg
        assert faces.LFW_URL in msg
        assert not (data_root / "lfw-deepfunneled").exists()
        assert not list(data_root.glob(faces.EXTRACT_PREFIX + "*"))  # the temporary folder is gone too
    # "auto" moves on to the next source, loudly, and says what was wrong with the archive
    cfg = gl.preset("dcgan-faces", size="book", nc=1, image_size=32)
    cfg = _chapter(cfg, dataset="auto", download=False)
    with pytest.warns(UserWarning, match="OFFLINE FALLBACK"):
        data = faces.load(cfg, progress=False)
    assert len(data) == 2 * faces.N_OFFLINE_FACES and "scikit-image" in data.source
    assert "lfw-deepfunneled.tgz is damaged" in capsys.readouterr().err
    with pytest.raises(faces.FaceDataError, match="damaged"):  # asked for LFW only: the error itself
        faces.load(_chapter(cfg, dataset="lfw"), progress=False)
    # a complete archive is extracted in full and renamed into place
    archive.write_bytes(whole)
    data = faces.lfw(16, download=False, progress=False)
    assert data.images.shape == (6, 3, 16, 16)
    assert len(list((data_root / "lfw-deepfunneled").rglob("*.jpg"))) == 6
    assert not list(data_root.glob(faces.EXTRACT_PREFIX + "*"))


def test_a_half_extracted_temporary_folder_is_never_used(data_root):
    stale = data_root / (faces.EXTRACT_PREFIX + "killed") / "lfw-deepfunneled"  # a run killed mid-extraction
    _lfw_tree(stale.parent, 2)
    with pytest.raises(faces.FaceDataError, match="no lfw-deepfunneled folder"):
        faces.lfw(16, download=False, progress=False)
    _lfw_tree(data_root, 3)  # the real, complete folder is used
    assert len(faces.lfw(16, download=False, progress=False)) == 3


def test_an_unwritable_cache_folder_warns_and_keeps_the_faces(celeba_root, monkeypatch, capsys):
    blocked = celeba_root / "img_align_celeba" / "000001.jpg" / "cache"  # a folder under a file: never writable
    with pytest.warns(UserWarning, match="Could not write the cache"):
        data = faces.celeba("celeba", image_size=16, progress=False, cache_dir=blocked)
    assert data.images.shape == (6, 3, 16, 16)
    err = capsys.readouterr().err
    assert str(blocked) in err and "GANLIB_DATA" in err
    # the same with a read-only folder (simulated: tests run as root, where chmod does not stop writes)
    faces._MEMORY.clear()

    def refuse(obj, path):
        raise PermissionError(13, "Permission denied", str(path))

    real_save = gl.data.atomic_save
    monkeypatch.setattr(gl.data, "atomic_save", refuse)
    with pytest.warns(UserWarning, match="Could not write the cache"):
        again = faces.celeba("celeba", image_size=16, progress=False)
    assert torch.equal(again.images, data.images) and not list((celeba_root.parent / "cache").glob("*.pt"))
    # a writable folder gets its cache file, without a word
    faces._MEMORY.clear()
    monkeypatch.setattr(gl.data, "atomic_save", real_save)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        faces.celeba("celeba", image_size=16, progress=False)
    assert len(list((celeba_root.parent / "cache").glob("faces-celeba-*-16px.pt"))) == 1


# ---------------------------------------------------------------- the chapter's analysis helpers (non-loading part)
def test_layer_sides_are_the_shapes_each_layer_saw():
    G = gl.models.DCGANGenerator(nz=8, ngf=4, nc=1, image_size=32)
    sides = faces.layer_sides(G, torch.zeros(2, 8, 1, 1))
    assert [(s_in, s_out) for _, _, s_in, s_out in sides] == [(1, 4), (4, 8), (8, 16), (16, 32)]
    for _, layer, s_in, s_out in sides:
        assert gl.models.conv_transpose_size(s_in, layer.kernel_size[0], layer.stride[0], layer.padding[0],
                                             layer.output_padding[0]) == s_out
    assert G.training  # eval mode only while measuring


def test_nyquist_share_sees_a_checkerboard_and_not_a_smooth_picture():
    i, j = torch.meshgrid(torch.arange(16), torch.arange(16), indexing="ij")
    board = ((i + j) % 2 * 2 - 1).float().view(1, 1, 16, 16)
    smooth = torch.sin(i / 5.0).float().view(1, 1, 16, 16)
    assert faces.nyquist_share(board).item() > 0.99
    assert faces.nyquist_share(smooth).item() < 0.02
    assert faces.nyquist_share(0.5 * smooth + 0.5 * board).item() > 0.3


def test_nearest_training_by_chunks_equals_one_pass():
    data = faces.offline_faces(16)
    pool, _ = data.get(torch.arange(len(data)))
    probe = pool[[3, 150, 7]] + 0.01 * torch.randn(3, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    i1, d1 = faces.nearest_training(probe, data, chunk=37)
    i2, d2 = gl.metrics.nearest(probe, pool)
    assert torch.equal(i1, i2) and torch.allclose(d1, d2)
    assert i1.tolist() == [3, 150, 7]
    _, d_self = faces.nearest_training(pool[:5], data, exclude_self=True, chunk=50)
    assert (d_self > 1e-6).all()  # neither itself nor its mirror image


def test_memorisation_check_of_a_copying_generator():
    data = faces.offline_faces(16)

    class Copier(torch.nn.Module):  # "generates" training faces: the worst case of memorisation
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, z, y=None):
            return data.get(z[:, 0].abs().mul(1000).long() % len(data))[0] + 0 * self.w

    m = faces.memorisation(Copier(), data, nz=4, n=32, seed=0)
    assert m["fake"].shape == (32, 1, 16, 16) and m["fake_dist"].max() < 1e-10
    assert m["real_dist"].shape == (32,) and m["real_dist"].min() > 1e-4


def test_interpolation_frames_walk_from_one_face_to_another():
    G = gl.models.DCGANGenerator(nz=8, ngf=4, nc=1, image_size=32)
    frames, labels, path = faces.interpolation_frames(G, 8, n_frames=5, n_paths=3, seed=0, scale=1)
    assert len(frames) == len(labels) == 5 and labels[0] == "t = 0.00" and labels[-1] == "t = 1.00"
    assert frames[0].dtype == np.uint8 and frames[0].shape[1] > frames[0].shape[0]  # one row of 3 faces
    ends = faces.latents(8, 6, 0)
    assert torch.allclose(path[0], ends[:3], atol=1e-5) and torch.allclose(path[-1], ends[3:], atol=1e-5)
    first = faces.render(G, ends[:3])
    assert np.array_equal(frames[0], gl.viz.grid(first, nrow=3))


def test_face_attributes_and_corner_groups():
    x = torch.full((4, 1, 8, 8), -0.5)
    x[0, :, :, :4] = 0.5      # lit from the left
    x[1, :, :, 4:] = 0.5      # lit from the right
    x[2] = 0.9                # bright
    a = faces.face_attributes(x)
    assert a["light"][0] > 0 > a["light"][1] and abs(a["light"][2]) < 1e-6
    assert a["brightness"].argmax() == 2
    g = torch.Generator().manual_seed(0)
    u, v = torch.randn(400, generator=g), torch.randn(400, generator=g)
    groups = faces.corner_groups(u, v, k=10)
    assert all(len(idx) == 10 for idx in groups.values())
    assert len(torch.cat(list(groups.values())).unique()) == 40        # no sample in two groups
    assert u[groups[(1, -1)]].min() > 0 and v[groups[(1, -1)]].max() < 0
    assert u[groups[(-1, 1)]].max() < 0 and v[groups[(-1, 1)]].min() > 0


def test_untile_gives_back_the_pictures_of_a_snapshot_grid():
    images = torch.randint(0, 256, (9, 1, 8, 8), dtype=torch.uint8)
    frame = gl.viz.grid(images, nrow=3)[:, :, :1]  # one channel, as image_snapshot keeps for gray images
    assert torch.equal(faces.untile(frame, 8), images)


def test_attribute_shift_is_in_standard_deviations_and_none_means_unchecked():
    g = torch.Generator().manual_seed(0)
    pop = {"light": torch.randn(1000, generator=g), "brightness": torch.randn(1000, generator=g)}
    moved = {"light": pop["light"][:10] * 0 + 2 * pop["light"].std() + pop["light"].mean(),
             "brightness": pop["brightness"][:10] * 0 + pop["brightness"].mean()}
    shifts = faces.attribute_shift(moved, pop)                       # None: measured, not checked
    assert abs(shifts["light"] - 2) < 1e-5 and abs(shifts["brightness"]) < 1e-5
    assert faces.attribute_shift(moved, pop, min_shift=-1.0)["light"] > 1.9
    with pytest.raises(AssertionError, match="brightness"):
        faces.attribute_shift(moved, pop, min_shift=0.5)
