"""Every chapter's setup cell and Colab settings agree with _config.yml (tools/sync_notebooks.py), and the
setup cell does what it promises: it leaves an outside GANLIB_SIZE alone, and a failed install stops with a
message that names the repository instead of a bare ModuleNotFoundError."""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("sync_notebooks", ROOT / "tools" / "sync_notebooks.py")
sync_notebooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sync_notebooks)

FORM = 'GANLIB_SIZE = "auto"  # @param'


def test_every_notebook_agrees_with_config():
    found = sync_notebooks.check()
    assert not found, "\n".join(f"{path.name}: {'; '.join(issues)}" for path, issues in found.items()) + (
        "\nRun  python tools/sync_notebooks.py")
    assert len(sync_notebooks.notebooks()) >= 8


def test_sync_splits_an_old_setup_cell_and_keeps_the_chapter_lines():
    old = ("# installs ganlib\ntry:\n    import ganlib\nexcept ImportError:\n    %pip install -q ganlib\n"
           "import ganlib as gl\nimport torch\n\ncfg = gl.preset('dcgan-mnist')\nprint(gl.describe(cfg))")
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": {"name": "python3"}},
          "cells": [{"cell_type": "markdown", "id": "m", "metadata": {}, "source": ["# Title"]},
                    {"cell_type": "code", "id": "c", "metadata": {}, "outputs": [], "execution_count": None,
                     "source": old.splitlines(keepends=True)}]}
    cell = sync_notebooks.setup_cell("https://example.org/repo", "dev")
    assert sync_notebooks.problems(nb, cell)
    sync_notebooks.sync(nb, cell)
    assert not sync_notebooks.problems(nb, cell)
    sources = ["".join(c["source"]) for c in nb["cells"]]
    assert sources[1] == cell and sources[2] == "import torch\n\ncfg = gl.preset('dcgan-mnist')\nprint(gl.describe(cfg))"
    assert nb["cells"][2]["id"] not in {"m", "c"} and nb["metadata"]["kernelspec"] == {"name": "python3"}
    assert nb["metadata"]["accelerator"] == "GPU" and nb["metadata"]["colab"]["gpuType"] == "T4"
    again = sync_notebooks.sync(nb, cell)  # a second run changes nothing
    assert ["".join(c["source"]) for c in again["cells"]] == sources


def _run_cell(cell: str, form: str) -> None:
    assert FORM in cell
    exec(compile(cell.replace('"auto"  # @param', f'"{form}"  # @param', 1), "<setup cell>", "exec"), {})


def test_setup_cell_leaves_an_outside_size_alone(monkeypatch):
    cell = sync_notebooks.setup_cell(*sync_notebooks.repository())
    monkeypatch.delenv("GANLIB_SIZE_FROM_FORM", raising=False)
    monkeypatch.setenv("GANLIB_SIZE", "quick")  # as nbval and CI set it
    for form in ("auto", "full", "book"):
        _run_cell(cell, form)
        assert os.environ["GANLIB_SIZE"] == "quick"


def test_setup_cell_form_sets_and_unsets_the_size(monkeypatch):
    cell = sync_notebooks.setup_cell(*sync_notebooks.repository())
    monkeypatch.delenv("GANLIB_SIZE_FROM_FORM", raising=False)
    monkeypatch.delenv("GANLIB_SIZE", raising=False)
    _run_cell(cell, "auto")
    assert "GANLIB_SIZE" not in os.environ
    _run_cell(cell, "full")
    assert os.environ["GANLIB_SIZE"] == "full"
    _run_cell(cell, "book")  # the reader changes the form and runs the cell again
    assert os.environ["GANLIB_SIZE"] == "book"
    _run_cell(cell, "auto")
    assert "GANLIB_SIZE" not in os.environ


def test_failed_install_names_the_repository(tmp_path):
    """The real cell, where ganlib cannot be imported and the repository cannot be reached: pip runs git, git
    fails at once (nothing listens on port 9 of this machine; offline) and the cell raises with the URL."""
    url = "https://127.0.0.1:9/gan-course/no-such-repository"
    cell = sync_notebooks.setup_cell(url, "main")
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "GANLIB_SIZE_FROM_FORM") and not k.lower().endswith("_proxy")}
    env.update(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", GIT_TERMINAL_PROMPT="0", NO_PROXY="*")
    # -S: no site-packages, so `import ganlib` fails as on a fresh Colab runtime; the cell's pip runs normally.
    done = subprocess.run([sys.executable, "-S", "-c", cell], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode != 0
    assert f"RuntimeError: Could not install ganlib from {url} (branch main)." in done.stderr, done.stderr
    assert "internet access" in done.stderr and "pip said:" in done.stderr
    assert "git clone" in done.stderr  # pip got as far as running git: the cell's real install path ran
