"""Tests for ganlib.results: the figures each chapter records and the results page reads back."""
import json
from types import SimpleNamespace

import pytest

import ganlib as gl
from ganlib import results


@pytest.fixture
def runs(tmp_path, monkeypatch):
    """An empty $GANLIB_RUNS folder for each test."""
    monkeypatch.setenv("GANLIB_RUNS", str(tmp_path))
    return tmp_path


def fake_run(step=120, seconds=(1.0, 2.0, 0.5), count=4000, source="MNIST digits"):
    """What record() reads of a Run: its G updates, the seconds of its steps and its data."""
    return SimpleNamespace(step=step, history=SimpleNamespace(seconds=list(seconds)),
                           data_id={"count": count, "source": source, "shape": [1, 28, 28], "fingerprint": "x"})


def test_nothing_recorded_reads_as_empty(runs):
    assert not results.folder().exists()
    assert results.load("book") == [] and results.rows("book") == []
    assert results.overview("book") == []


def test_record_load_rows_round_trip(runs):
    path = results.record("05 DCGAN on MNIST", {"MNIST score": 4.98, "classes": 10, "note": "ok", "sharp": True},
                          run=fake_run(), size="book")
    assert path.parent == runs / "results" and path.name == "05_DCGAN_on_MNIST-book.json"
    (entry,) = results.load("book")
    assert entry["chapter"] == "05 DCGAN on MNIST" and entry["size"] == "book"
    # numbers become floats, everything else (booleans too) text
    assert entry["figures"] == {"MNIST score": 4.98, "classes": 10.0, "note": "ok", "sharp": "True"}
    assert entry["G updates"] == 120 and entry["train seconds"] == 3.5
    assert entry["data"] == "4000 samples: MNIST digits"
    assert entry["hardware"] == results.hardware() and entry["hardware"].startswith(("CPU", "GPU"))
    assert json.loads(path.read_text()) == entry
    rows = results.rows("book")
    assert [r["figure"] for r in rows] == ["MNIST score", "classes", "note", "sharp"]
    assert rows[0]["value"] == "4.98" and rows[1]["value"] == "10" and rows[2]["value"] == "ok"
    assert all(r["chapter"] == "05 DCGAN on MNIST" and r["G updates"] == 120 and r["train s"] == 3.5
               for r in rows)
    (over,) = results.overview("book")
    assert over["chapter"] == "05 DCGAN on MNIST" and over["G updates"] == 120 and over["train s"] == 3.5
    assert over["data"] == "4000 samples: MNIST digits" and over["figures"] == 4
    assert gl.viz.table(rows).shape == (4, len(rows[0]))


def test_record_without_run_has_no_run_columns(runs):
    results.record("02 The GAN game", {"max |D - D*|": 1e-9}, size="quick")
    (row,) = results.rows("quick")
    assert row["G updates"] == "" and row["train s"] == "" and row["data"] == ""
    assert row["value"] == "1e-09"


def test_a_second_record_replaces_the_first(runs):
    results.record("08 Challenges", {"modes": 1}, size="book")
    results.record("08 Challenges", {"modes": 8}, size="book")
    (entry,) = results.load("book")
    assert entry["figures"] == {"modes": 8.0}
    assert len(list(results.folder().iterdir())) == 1


def test_size_filter(runs, monkeypatch):
    results.record("03 Training", {"a": 1}, size="quick")
    results.record("03 Training", {"a": 2}, size="book")
    results.record("07 Variants", {"b": 3}, size="book")
    results.record("ends-quick", {"c": 4}, size="book")  # a name ending like another size's file
    assert [e["chapter"] for e in results.load("book")] == ["03 Training", "07 Variants", "ends-quick"]
    assert [e["figures"]["a"] for e in results.load("quick")] == [1.0]
    assert results.load("full") == []
    monkeypatch.setenv("GANLIB_SIZE", "quick")  # the default is the current size
    assert [e["chapter"] for e in results.load()] == ["03 Training"]
    results.record("04 Faces", {"d": 5})
    assert results.load("quick")[-1]["chapter"] == "04 Faces"


def test_records_sorted_by_chapter_and_slashes_kept_out_of_file_names(runs):
    results.record("08 Challenges / ring", {"x": 1}, size="book")
    results.record("01 Generative models", {"y": 2}, size="book")
    assert [e["chapter"] for e in results.load("book")] == ["01 Generative models", "08 Challenges / ring"]
    assert all(p.parent == results.folder() for p in results.folder().iterdir())


def test_record_is_atomic(runs, monkeypatch):
    """A record that fails while it is written leaves the previous one whole and no temporary file."""
    results.record("06 Conditional", {"accuracy": 0.9}, size="book")
    before = (results.folder() / "06_Conditional-book.json").read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    with monkeypatch.context() as m, pytest.raises(OSError, match="disk full"):
        m.setattr(results.json, "dumps", broken)
        results.record("06 Conditional", {"accuracy": 0.1}, size="book")
    assert (results.folder() / "06_Conditional-book.json").read_bytes() == before
    assert [p.name for p in results.folder().iterdir()] == ["06_Conditional-book.json"]
    assert results.load("book")[0]["figures"]["accuracy"] == 0.9


def test_file_names_are_safe_on_every_system(runs):
    path = results.record('08 Challenges: ring, "K=5" <a|b>?*', {"x": 1}, size="book")
    assert path.name == "08_Challenges__ring,__K=5___a_b___-book.json"
    assert results.load("book")[0]["chapter"] == '08 Challenges: ring, "K=5" <a|b>?*'


def test_missing_lists_notebooks_without_a_record(runs, tmp_path):
    folder = tmp_path / "nb"
    folder.mkdir()
    for name in ("01_intro", "02_game", "03_toy", "09_results"):
        (folder / f"{name}.ipynb").write_text("{}")
    assert results.missing("book", folder) == ["01_intro", "02_game", "03_toy"]  # not the page itself
    results.record("02 The GAN game", {"x": 1}, size="book")
    results.record("03 Training, k=5", {"y": 2}, size="book")
    assert results.missing("book", folder) == ["01_intro"]
    assert results.missing("quick", folder) == ["01_intro", "02_game", "03_toy"]
    assert results.missing("book", tmp_path / "empty") == []
