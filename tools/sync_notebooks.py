"""Keep every chapter's setup cell and its Colab settings in step with _config.yml.

    python tools/sync_notebooks.py           # rewrite the notebooks that disagree
    python tools/sync_notebooks.py --check   # only list them; exit status 1 if there are any

The repository that a notebook installs ganlib from is one setting, in one place: ``repository.url`` and
``repository.branch`` in _config.yml (the book's launch buttons read the same two values). From them this
tool writes the FIRST code cell of every notebook in notebooks/, the setup cell (see ``setup_cell``), and
sets each notebook's metadata so that Colab opens it on a GPU runtime. Change the repository there and run
this tool; never edit a setup cell by hand (tests/test_notebooks_sync.py fails when one disagrees).

When the first code cell is an older setup cell (it installs ganlib with pip and ends its setup part with
``import ganlib as gl``), its setup part is replaced and any lines of the chapter's own that followed
move, unchanged, to a new code cell right after it. When the first code cell is no setup cell at all, the
setup cell is inserted before it.
"""
from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
CONFIG = ROOT / "_config.yml"

# What Colab reads to open a notebook on a GPU runtime (Runtime > Change runtime type > T4 GPU).
COLAB_METADATA = {"accelerator": "GPU", "colab": {"gpuType": "T4", "provenance": []}}

SETUP_CELL = '''\
# @title Setup: the course library and the size of the runs
# (written by tools/sync_notebooks.py from _config.yml: change the repository there, not here)
GANLIB_SIZE = "auto"  # @param ["auto", "quick", "book", "full"]
# auto = full on a GPU, book on a CPU. A GANLIB_SIZE set outside the notebook (CI sets quick) wins.
REPOSITORY, BRANCH = {url}, {branch}

import os, subprocess, sys
if os.environ.get("GANLIB_SIZE") == os.environ.pop("GANLIB_SIZE_FROM_FORM", None):  # not set outside
    os.environ.pop("GANLIB_SIZE", None)
    if GANLIB_SIZE != "auto":
        os.environ["GANLIB_SIZE"] = os.environ["GANLIB_SIZE_FROM_FORM"] = GANLIB_SIZE
try:
    import ganlib
except ImportError:  # e.g. on Colab: install the course library; the runtime's torch stays as it is
    pip = [sys.executable, "-m", "pip", "install", "-q", f"ganlib @ git+{{REPOSITORY}}@{{BRANCH}}"]
    result = subprocess.run(pip, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(
            f"Could not install ganlib from {{REPOSITORY}} (branch {{BRANCH}}). Check that this repository and "
            "branch exist and that the runtime has internet access, or install ganlib by hand: upload the "
            "repository's folder and run  pip install <folder>.\\npip said:\\n" + result.stderr[-2000:])
import ganlib as gl'''

SETUP_END = "import ganlib as gl"  # the last line of a setup cell, old or new


def repository(config: Path = CONFIG) -> tuple[str, str]:
    """``(url, branch)`` of the course repository, from _config.yml's ``repository`` section."""
    import yaml

    section = (yaml.safe_load(config.read_text(encoding="utf-8")) or {}).get("repository") or {}
    if not section.get("url"):
        raise SystemExit(f"{config}: no repository.url; the setup cells install ganlib from it.")
    return str(section["url"]).rstrip("/"), str(section.get("branch") or "main")


def setup_cell(url: str, branch: str) -> str:
    """The source of the setup cell that installs ganlib from ``url`` at ``branch``."""
    return SETUP_CELL.format(url=json.dumps(url), branch=json.dumps(branch))


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _split_setup(text: str) -> tuple[bool, str]:
    """``(is_setup_cell, the chapter's own lines after the setup part)`` of a first code cell."""
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.strip() == SETUP_END:
            if "pip" not in "".join(lines[:i]):
                return False, text
            rest = lines[i + 1:]
            while rest and not rest[0].strip():
                rest = rest[1:]
            return True, "".join(rest)
    return False, text


def _has_ids(nb: dict) -> bool:
    return (nb.get("nbformat", 0), nb.get("nbformat_minor", 0)) >= (4, 5)


def _code_cell(nb: dict, text: str) -> dict:
    cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": _lines(text)}
    if _has_ids(nb):
        taken = {c.get("id") for c in nb["cells"]}
        new = uuid.uuid4().hex[:8]
        while new in taken:
            new = uuid.uuid4().hex[:8]
        cell["id"] = new
    return cell


def problems(nb: dict, cell: str) -> list[str]:
    """What in notebook ``nb`` disagrees with the setup cell ``cell`` and COLAB_METADATA (empty: nothing)."""
    found = []
    code = [c for c in nb.get("cells", []) if c.get("cell_type") == "code"]
    if not code:
        found.append("no code cell")
    elif _source(code[0]) != cell:
        found.append("the first code cell is not the setup cell generated from _config.yml")
    meta = nb.get("metadata", {})
    if meta.get("accelerator") != COLAB_METADATA["accelerator"]:
        found.append(f"metadata.accelerator is {meta.get('accelerator')!r}, not 'GPU'")
    colab = meta.get("colab")
    if (not isinstance(colab, dict) or colab.get("gpuType") != COLAB_METADATA["colab"]["gpuType"]
            or not isinstance(colab.get("provenance"), list)):
        found.append(f"metadata.colab is {colab!r}, not one with gpuType 'T4' and a provenance list")
    return found


def sync(nb: dict, cell: str) -> dict:
    """Notebook ``nb`` (changed in place and returned) with setup cell ``cell`` and the Colab metadata."""
    cells = nb.setdefault("cells", [])
    index = next((i for i, c in enumerate(cells) if c.get("cell_type") == "code"), None)
    if index is None:  # no code at all: the setup cell goes last
        cells.append(_code_cell(nb, cell))
    else:
        is_setup, own = _split_setup(_source(cells[index]))
        if not is_setup:
            cells.insert(index, _code_cell(nb, cell))
        elif _source(cells[index]) != cell:
            cells[index].update(source=_lines(cell), outputs=[], execution_count=None)
            if own.strip():
                cells.insert(index + 1, _code_cell(nb, own))
    meta = nb.setdefault("metadata", {})
    meta["accelerator"] = COLAB_METADATA["accelerator"]
    colab = meta.get("colab") if isinstance(meta.get("colab"), dict) else {}
    meta["colab"] = {**colab, "gpuType": COLAB_METADATA["colab"]["gpuType"],
                     "provenance": colab.get("provenance") if isinstance(colab.get("provenance"), list) else []}
    return nb


def notebooks(folder: Path = NOTEBOOKS) -> list[Path]:
    return sorted(folder.glob("*.ipynb"))


def check(paths: list[Path] | None = None, config: Path = CONFIG) -> dict[Path, list[str]]:
    """``{notebook: [what disagrees]}`` for every notebook that disagrees with _config.yml (empty: all agree)."""
    cell = setup_cell(*repository(config))
    found = {}
    for path in notebooks() if paths is None else paths:
        issues = problems(json.loads(path.read_text(encoding="utf-8")), cell)
        if issues:
            found[path] = issues
    return found


def write(path: Path, nb: dict) -> None:
    """Save ``nb`` the way Jupyter does (one-space indent, sorted keys, UTF-8, final newline)."""
    path.write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def _shown(path: Path) -> str:
    path = path.resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a notebook disagrees")
    parser.add_argument("paths", nargs="*", type=Path, help="notebooks (default: notebooks/*.ipynb)")
    args = parser.parse_args(argv)
    paths = args.paths or notebooks()
    found = check(paths)
    if args.check:
        for path, issues in found.items():
            print(f"{_shown(path)}: " + "; ".join(issues))
        if found:
            print(f"{len(found)} notebook(s) disagree with _config.yml; run  python tools/sync_notebooks.py")
        return 1 if found else 0
    cell = setup_cell(*repository())
    for path in found:
        write(path, sync(json.loads(path.read_text(encoding="utf-8")), cell))
        print(f"updated {_shown(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
