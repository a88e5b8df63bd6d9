"""ganlib.presets: every chapter's settings at its three sizes, as data; deep merging, inherits, overrides,
the errors, and the promise that book size is bounded in G updates whatever the data source."""
import dataclasses
import math
import re

import pytest
import torch

import ganlib as gl
from ganlib import config, models, presets
from ganlib.presets import PRESETS

NAMES = sorted(PRESETS)
IMAGE_ARCHS = ("dcgan", "project", "mlp", "smallconv")
MNIST_TRAIN, MNIST_OFFLINE_TRAIN = 60_000, 4_000  # torchvision's training digits; the offline fallback's


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    pass


# ---------------------------------------------------------------- every preset builds at every size
@pytest.mark.parametrize("size", config.SIZES)
@pytest.mark.parametrize("name", NAMES)
def test_every_preset_builds_at_every_size(name, size):
    cfg = gl.preset(name, size=size)
    assert (cfg.name, cfg.size) == (name, size)
    assert config.validate(cfg) is cfg
    assert cfg.chapter is None or type(cfg.chapter) in config.CHAPTER_SETTINGS.values()
    G, D = models.build(cfg)
    z = torch.zeros(2, cfg.nz)
    y = torch.tensor([0, 1]) if cfg.n_classes else None
    with gl.util.eval_mode(G, D):
        x = G(z, y)
        if cfg.arch in IMAGE_ARCHS:
            assert x.shape == (2, cfg.nc, cfg.image_size, cfg.image_size)
        else:
            assert x.shape == (2, 1 if cfg.arch == "mlp1d" else 2)
        assert D(x, y).shape == (2 // cfg.pack,)


def test_every_preset_names_a_loss_and_an_arch_that_exist():
    for name in NAMES:
        for size in config.SIZES:
            cfg = gl.preset(name, size=size)
            assert cfg.loss in gl.losses.LOSSES and cfg.arch in models.ARCHS, (name, size)


# ---------------------------------------------------------------- merging
def test_merge_is_deep_inside_dicts_and_chapter_settings():
    base = {"a": 1, "nested": {"x": 1, "y": 2}, "chapter": config.Toy1D(p_data="gap", jsd_every=7)}
    out = presets.merge(base, {"nested": {"y": 3}, "chapter": {"w1_tol": 0.5}, "b": 2})
    assert out == {"a": 1, "b": 2, "nested": {"x": 1, "y": 3},
                   "chapter": config.Toy1D(p_data="gap", jsd_every=7, w1_tol=0.5)}
    assert base["nested"] == {"x": 1, "y": 2} and base["chapter"].w1_tol == 0.1  # the base is not changed
    # a value that is not a dict replaces the old one whole
    assert presets.merge(base, {"chapter": config.Toy1D()})["chapter"] == config.Toy1D()


def test_a_size_restates_only_what_it_changes_also_inside_chapter():
    quick = gl.preset("toy1d", size="quick")
    raw = PRESETS["toy1d"]
    # fields from base that the size does not mention
    assert (quick.k, quick.g_activation, quick.g_sharpness, quick.ngf) == (5, "smooth_leaky_relu", 4.0, 32)
    # chapter settings: the size's changes on top of base's p_data, the rest the type's defaults
    assert quick.chapter == dataclasses.replace(raw["base"]["chapter"], **raw["quick"]["chapter"])
    assert (quick.chapter.p_data, quick.chapter.jsd_every, quick.chapter.frozen_steps) == ("two-bumps", 5, 400)
    assert quick.chapter.x_range == config.Toy1D().x_range  # never restated anywhere: the default
    book = gl.preset("inverse-cdf-mlp", size="book")
    assert (book.chapter.p_data, book.chapter.w1_tol, book.max_steps) == ("gap", 0.06, 2000)
    assert book.g_activation == "leaky_relu" and book.lr == 1e-2  # from base
    full = gl.preset("dcgan-faces", size="full")
    assert full.chapter == config.Faces(download=True, workers=2, side_steps=1500)
    assert full.dataroot == "celeba" and full.init_std == 0.02


def test_presets_differ_by_size_and_full_is_the_source_setting():
    quick, book, full = (gl.preset("dcgan-mnist", size=s) for s in ("quick", "book", "full"))
    # source 001 12.4.6: 64 px, doubled channels (1024 -> 128), biases on, batch 128, 5 epochs, Adam 2e-4/0.5
    assert (full.image_size, full.ngf, full.ndf, full.batch_size, full.num_epochs) == (64, 128, 128, 128, 5)
    assert full.bias is True and full.lr == pytest.approx(2e-4) and full.beta1 == pytest.approx(0.5)
    assert full.n_train is None and full.max_steps is None  # all the data, the source's epochs
    assert quick.ngf < book.ngf <= full.ngf
    assert quick.n_train is not None and quick.n_train < 1000


def test_inherits_challenges_grid_is_the_ring_with_kind_grid():
    raw = PRESETS["challenges-grid"]
    assert raw["inherits"] == "challenges-ring"
    for size in config.SIZES:
        ring, grid = gl.preset("challenges-ring", size=size), gl.preset("challenges-grid", size=size)
        assert grid.chapter.kind == "grid" and ring.chapter.kind == "ring"
        assert grid == ring.replace(name="challenges-grid", chapter=dataclasses.replace(ring.chapter, kind="grid"))
    entry = presets.entry("challenges-grid")
    assert set(entry) == {"base", *config.SIZES}
    assert entry["book"] == presets.entry("challenges-ring")["book"]  # sizes come from the parent


def test_inherits_chains_and_the_child_wins(monkeypatch):
    fake = dict(PRESETS)
    fake["child"] = {"inherits": "challenges-grid", "base": dict(lr=1e-2), "quick": dict(max_steps=3)}
    monkeypatch.setattr(presets, "PRESETS", fake)
    cfg = gl.preset("child", size="quick")
    assert (cfg.lr, cfg.max_steps, cfg.chapter.kind, cfg.name) == (1e-2, 3, "grid", "child")
    assert cfg.n_train == gl.preset("challenges-ring", size="quick").n_train


# ---------------------------------------------------------------- overrides and errors
def test_preset_overrides_fields_and_chapter_settings():
    cfg = gl.preset("dcgan-mnist", size="quick", ngf=3)
    assert cfg.ngf == 3 and cfg.name == "dcgan-mnist" and cfg.size == "quick"
    toy = gl.preset("toy1d", size="quick", chapter=dict(jsd_every=7), max_steps=11)
    assert toy.chapter.jsd_every == 7 and toy.max_steps == 11
    assert toy.chapter == dataclasses.replace(gl.preset("toy1d", size="quick").chapter, jsd_every=7)
    whole = gl.preset("toy1d", size="quick", chapter=config.Toy1D(p_data="gap"))
    assert whole.chapter == config.Toy1D(p_data="gap")  # a whole settings object replaces them
    assert gl.preset("toy1d", size="quick").chapter.jsd_every == 5  # overrides never leak into the preset


def test_unknown_field_and_unknown_chapter_setting_raise_type_error():
    with pytest.raises(TypeError, match=re.escape("Unknown Config fields ['ngff'] in preset 'dcgan-mnist'")):
        gl.preset("dcgan-mnist", size="quick", ngff=3)
    with pytest.raises(TypeError, match="jsd_evry"):
        gl.preset("toy1d", size="quick", chapter=dict(jsd_evry=5))


def test_unknown_preset_lists_every_name():
    with pytest.raises(KeyError) as err:
        gl.preset("no-such-chapter", size="quick")
    message = str(err.value)
    assert "No preset 'no-such-chapter'" in message and all(name in message for name in NAMES)


def test_unknown_size_is_refused():
    with pytest.raises(ValueError, match=re.escape("size='huge' is not a size; use one of quick, book, full")):
        gl.preset("dcgan-mnist", size="huge")


def test_impossible_override_is_refused_by_the_config():
    with pytest.raises(ValueError, match=re.escape("batch_size=0 is impossible")):
        gl.preset("dcgan-mnist", size="quick", batch_size=0)


def test_presets_are_data_and_a_preset_is_a_fresh_copy():
    a = gl.preset("toy1d", size="book")
    b = gl.preset("toy1d", size="book")
    assert a == b and a is not b
    for name, raw in PRESETS.items():
        assert set(raw) <= {"base", "inherits", *config.SIZES}, name
        assert "inherits" in raw or set(config.SIZES) <= set(raw), name


# ---------------------------------------------------------------- book size is bounded in G updates
def g_updates(cfg, n_available: int) -> int:
    """G updates fit makes at ``cfg`` on a source holding ``n_available`` samples (fit's rule)."""
    n = n_available if cfg.n_train is None else min(cfg.n_train, n_available)
    total = (n // cfg.batch_size) // cfg.k * cfg.num_epochs
    return total if cfg.max_steps is None else min(total, cfg.max_steps)


def test_g_updates_follows_fits_rule(tiny_cfg, tiny_data):
    for fields in ({}, {"k": 4, "num_epochs": 3}, {"max_steps": 4}, {"k": 2, "num_epochs": 2}):
        cfg = tiny_cfg.replace(**fields)
        run = gl.fit(*models.build(cfg), tiny_data, cfg, progress=False, snapshot=gl.train.blank_frame,
                     device=torch.device("cpu"))
        assert len(run.history) == g_updates(cfg, len(tiny_data)), fields


@pytest.mark.parametrize("name", NAMES)
def test_every_book_preset_is_bounded_in_g_updates(name):
    cfg = gl.preset(name, size="book")
    assert cfg.max_steps is not None or cfg.n_train is not None, f"{name}: book size has no bound"
    bound = g_updates(cfg, 10 ** 12)  # a source as large as you like
    assert math.isfinite(bound) and bound > 0
    if "mnist" in name:  # the same budget on 60,000 digits (online) and on the 4,000 of the offline fallback
        online, offline = g_updates(cfg, MNIST_TRAIN), g_updates(cfg, MNIST_OFFLINE_TRAIN)
        assert online == offline == bound, (name, online, offline)
        assert cfg.n_train is not None and cfg.n_train <= MNIST_OFFLINE_TRAIN


def test_book_mnist_budgets_are_the_documented_ones():
    expected = {"dcgan-mnist": 2480, "cgan-mnist": 2480, "mlp-mnist": 930, "smallconv-mnist": 248}
    for name, updates in expected.items():
        assert g_updates(gl.preset(name, size="book"), MNIST_TRAIN) == updates, name
    # variants-mnist's budget is max_steps for every loss: config_for sets the epochs it needs
    cfg = gl.preset("variants-mnist", size="book")
    for loss in gl.losses.LOSSES:
        run_cfg = gl.variants.config_for(cfg, loss, cfg.n_train)
        assert g_updates(run_cfg, MNIST_TRAIN) == g_updates(run_cfg, MNIST_OFFLINE_TRAIN) == cfg.max_steps == 1000
