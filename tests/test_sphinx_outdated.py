"""The book build's extension that executes the chapters again when ganlib or GANLIB_SIZE changed."""
import importlib.util
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("ganlib_outdated", ROOT / "tools/sphinx/ganlib_outdated.py")
ext = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ext)

PAGES = {"book/intro": "book/intro.md", "notebooks/03_training_toy": "notebooks/03_training_toy.ipynb",
         "notebooks/05_dcgan_mnist": "notebooks/05_dcgan_mnist.ipynb"}


def _env():
    return SimpleNamespace(found_docs=set(PAGES), doc2path=lambda doc, base=True: PAGES[doc])


def test_first_build_and_an_unchanged_build_add_nothing_a_changed_size_adds_every_notebook(monkeypatch):
    env = _env()
    monkeypatch.setenv("GANLIB_SIZE", "book")
    assert ext.outdated_notebooks(None, env, set(), set(), set()) == []  # first build: Sphinx reads all anyway
    assert ext.outdated_notebooks(None, env, set(), set(), set()) == []  # nothing changed
    monkeypatch.setenv("GANLIB_SIZE", "quick")
    assert ext.outdated_notebooks(None, env, set(), set(), set()) == ["notebooks/03_training_toy",
                                                                      "notebooks/05_dcgan_mnist"]
    assert ext.outdated_notebooks(None, env, set(), set(), set()) == []  # and then it is up to date again


def test_a_change_in_ganlibs_code_adds_every_notebook(monkeypatch, tmp_path):
    fake = tmp_path / "ganlib"
    fake.mkdir()
    (fake / "train.py").write_text("x = 1\n")
    monkeypatch.setattr(ext, "GANLIB", fake)
    env = _env()
    ext.outdated_notebooks(None, env, set(), set(), set())
    (fake / "train.py").write_text("x = 2\n")
    assert len(ext.outdated_notebooks(None, env, set(), set(), set())) == 2
    (fake / "new.py").write_text("")
    assert len(ext.outdated_notebooks(None, env, set(), set(), set())) == 2
    assert Path(ext.__file__).resolve().parents[2] / "ganlib" == ROOT / "ganlib"
