"""The result cache (ganlib.cache): a hit loads without computing; other settings, other training code, an
interrupted or unreadable computation, and an unpicklable result each compute again and write nothing wrong."""
import numpy as np
import pytest
import torch

import ganlib as gl
from ganlib import cache


@pytest.fixture
def runs(tmp_path, monkeypatch):
    """An empty $GANLIB_RUNS; returns its cache folder."""
    monkeypatch.setenv("GANLIB_RUNS", str(tmp_path))
    return tmp_path / "cache"


def counted(value):
    """``compute`` returning ``value``; ``compute.calls`` counts the calls."""
    def compute():
        compute.calls += 1
        return value

    compute.calls = 0
    return compute


def files(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_a_hit_loads_an_equal_result_without_computing(runs, capsys):
    cfg = gl.preset("toy1d", size="quick")
    value = {"losses": [0.5, 0.25], "weights": torch.arange(6.0).view(2, 3), "name": "toy"}
    first, second = counted(value), counted("never returned")
    out = cache.memo("toy", (cfg, 3), first)
    assert first.calls == 1 and out is value
    assert "toy: saved to the result cache" in capsys.readouterr().out
    again = cache.memo("toy", (cfg, 3), second)
    assert second.calls == 0
    assert again["losses"] == value["losses"] and torch.equal(again["weights"], value["weights"])
    printed = capsys.readouterr().out
    assert printed.startswith("toy: loaded from the result cache ") and "delete it to recompute" in printed
    assert len(files(runs)) == 1 and files(runs)[0].startswith(f"toy-{gl.size()}-")


def test_another_config_misses_and_removes_the_stale_file(runs, capsys):
    cfg = gl.preset("toy1d", size="quick")
    cache.memo("toy", cfg, counted(1))
    stale = files(runs)
    cache.memo("other-toy", cfg, counted(7))        # another name: never removed by "toy"
    compute = counted(2)
    assert cache.memo("toy", cfg.replace(lr=2e-3), compute) == 2 and compute.calls == 1
    assert "is out of date" in capsys.readouterr().out
    left = files(runs)
    assert stale[0] not in left and len(left) == 2 and any(n.startswith("other-toy-") for n in left)


def test_other_training_code_misses(runs, monkeypatch):
    cache.memo("toy", 1, counted("old code"))
    monkeypatch.setattr(cache, "code_fingerprint", lambda: "0123456789abcdef")
    compute = counted("new code")
    assert cache.memo("toy", 1, compute) == "new code" and compute.calls == 1
    assert len(files(runs)) == 1


def test_the_code_fingerprint_skips_the_presentation_modules():
    fp = cache.code_fingerprint()
    assert len(fp) == 16 and int(fp, 16) >= 0 and fp == cache.code_fingerprint()
    assert {"viz", "player", "results", "__main__", "cache"} == set(cache.PRESENTATION)


def test_an_interrupted_computation_writes_nothing(runs):
    def interrupted():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cache.memo("toy", 1, interrupted)
    assert files(runs) == []  # no result and no temporary file
    compute = counted(5)
    assert cache.memo("toy", 1, compute) == 5 and compute.calls == 1


def test_a_corrupt_file_is_deleted_and_recomputed(runs, capsys):
    cache.memo("toy", 1, counted(1))
    path = runs / files(runs)[0]
    path.write_bytes(b"not a torch file")
    compute = counted(1)
    assert cache.memo("toy", 1, compute) == 1 and compute.calls == 1
    printed = capsys.readouterr().out
    assert f"could not read the result cache {path}" in printed
    assert cache.memo("toy", 1, counted(1)) == 1 and "loaded from the result cache" in capsys.readouterr().out


def test_an_unpicklable_result_is_returned_with_a_warning_and_not_cached(runs, capsys):
    value = {"f": lambda x: x}
    compute = counted(value)
    assert cache.memo("toy", 1, compute) is value
    printed = capsys.readouterr().out
    assert "Warning: toy: the result is not cached" in printed and "pickle" in printed.lower()
    assert files(runs) == []
    cache.memo("toy", 1, compute)
    assert compute.calls == 2


@pytest.mark.parametrize("bad", [lambda: 0, torch.nn.Linear(2, 2), object(), {1, 2}])
def test_keys_that_cannot_be_hashed_are_refused_by_type(bad):
    with pytest.raises(TypeError, match=f"{type(bad).__qualname__} cannot be part of a cache key.*instead"):
        cache.key_digest(("fine", [1, 2.0, None], bad))


@pytest.mark.parametrize("name", ["", "  ", "a/b", "..", "a\\b", None])
def test_bad_names_are_refused(runs, name):
    with pytest.raises(ValueError, match="non-empty file name without path separators"):
        cache.memo(name, 1, counted(1))


def test_key_digest_is_equal_for_equal_keys_and_differs_for_different_ones():
    cfg = gl.preset("toy1d", size="quick")
    assert cache.key_digest(cfg) == cache.key_digest(gl.preset("toy1d", size="quick"))
    assert cache.key_digest(cfg) != cache.key_digest(cfg.replace(seed=1))
    a = torch.zeros(4)
    assert cache.key_digest(a) == cache.key_digest(torch.zeros(4))
    assert cache.key_digest(a) != cache.key_digest(torch.tensor([0.0, 0.0, 0.0, 1.0]))
    assert cache.key_digest(a) != cache.key_digest(torch.zeros(4, dtype=torch.float64))
    assert cache.key_digest(a) != cache.key_digest(torch.zeros(2, 2))
    assert cache.key_digest(np.arange(3)) != cache.key_digest(np.arange(3.0))
    assert cache.key_digest({"a": 1, "b": 2}) == cache.key_digest({"b": 2, "a": 1})
    assert cache.key_digest((1,)) != cache.key_digest([1]) and cache.key_digest(1) != cache.key_digest(1.0)
    assert cache.key_digest(True) != cache.key_digest(1) and cache.key_digest("1") != cache.key_digest(1)
    points = gl.toy2d.data("ring", n=64)
    assert cache.key_digest(points) == cache.key_digest(gl.toy2d.data("ring", n=64))
    assert cache.key_digest(points) != cache.key_digest(gl.toy2d.data("ring", n=64, seed=1))


def test_a_cached_fit_run_loads_with_equal_weights_and_history(runs, one_thread):
    cfg = gl.preset("toy1d", size="quick", max_steps=6, n_train=2048, snapshot_every=3)
    data = gl.toy1d.dataset(gl.toy1d.p_data(cfg), cfg.n_train, seed=cfg.seed)

    def train():
        return gl.fit(*gl.models.build(cfg), data, cfg, progress=False, snapshot=gl.train.blank_frame)

    run = cache.memo("toy-run", (cfg, data), train)
    again = cache.memo("toy-run", (cfg, data), counted(None))
    assert again is not run and again.step == run.step > 0
    for a, b in zip(run.G.state_dict().values(), again.G.state_dict().values()):
        assert torch.equal(a, b)
    assert again.history.to_dict().keys() == run.history.to_dict().keys()
    for name in gl.History.STATS + ("snapshot_steps",):
        assert getattr(again.history, name) == getattr(run.history, name)
    assert all(np.array_equal(a, b) for a, b in zip(again.history.snapshots, run.history.snapshots))
