"""The figures each chapter records when it runs, and what the results page of the book reads back.

A chapter calls ``gl.results.record("05 DCGAN on MNIST", {"MNIST score": 4.98, ...}, run=run)`` after its
measurements; the record (JSON) goes to ``$GANLIB_RUNS/results/<chapter>-<size>.json`` with the size, the
hardware, the date, and, when a run is given, its G updates, training time and data. The results page
(``notebooks/09_results.ipynb``), executed last in the build, shows every record of its size, so the page
is always the last build's truth, never typed by hand.

Floor 2 (imports checkpoint, config, util). Taught in: "Results" (the last page).
"""
from __future__ import annotations

import datetime
import json
import platform
import re
from pathlib import Path

import torch

from .checkpoint import runs_dir
from .config import size as current_size
from .util import atomic_write


def folder() -> Path:
    """Where records go: ``$GANLIB_RUNS/results``."""
    return runs_dir() / "results"


def hardware() -> str:
    """The machine in words: the GPU's name, or the CPU with the threads torch uses."""
    if torch.cuda.is_available():
        return f"GPU {torch.cuda.get_device_name(0)}"
    cpu = platform.processor() or platform.machine()
    return f"CPU {cpu}, {torch.get_num_threads()} torch thread(s)"


def record(chapter: str, figures: dict, run=None, size: str | None = None) -> Path:
    """Save ``figures`` (name -> number or short text) of ``chapter`` at ``size`` (default: the current one).

    With ``run`` (a :class:`ganlib.train.Run`) the record also gets its G updates, the seconds its steps took
    (``sum(run.history.seconds)``, snapshots excluded) and the data it trained on. Returns the file written.
    """
    size = size or current_size()
    entry = {"chapter": chapter, "size": size, "hardware": hardware(),
             "date": datetime.datetime.now().isoformat(timespec="seconds"),
             "figures": {k: (float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v))
                         for k, v in figures.items()}}
    if run is not None:
        entry.update({"G updates": run.step, "train seconds": round(float(sum(run.history.seconds)), 1),
                      "data": f"{run.data_id['count']} samples: {run.data_id['source']}"})
    # a file name every system accepts (Windows refuses : * ? " < > |): other characters become "_"
    slug = re.sub(r"[^A-Za-z0-9._,()=+-]", "_", chapter.replace("/", "-"))
    path = folder() / f"{slug}-{size}.json"
    atomic_write(path, lambda f: f.write(json.dumps(entry, indent=1).encode()))
    return path


def load(size: str | None = None) -> list[dict]:
    """Every record of ``size`` (default: the current one), sorted by chapter."""
    size = size or current_size()
    entries = [json.loads(p.read_text()) for p in sorted(folder().glob(f"*-{size}.json"))]
    return sorted((e for e in entries if e.get("size") == size), key=lambda e: e["chapter"])


def rows(size: str | None = None) -> list[dict]:
    """The records as table rows (one per chapter and figure), for ``gl.viz.table``."""
    out = []
    for e in load(size):
        for name, value in e["figures"].items():
            out.append({"chapter": e["chapter"], "figure": name,
                        "value": f"{value:.4g}" if isinstance(value, float) else value,
                        "G updates": e.get("G updates", ""), "train s": e.get("train seconds", ""),
                        "data": e.get("data", ""), "hardware": e["hardware"], "date": e["date"]})
    return out


def overview(size: str | None = None) -> list[dict]:
    """One table row per record of ``size``: the chapter, its run (G updates, seconds of training steps,
    data), the hardware, the date, and how many figures it recorded (``rows`` lists them)."""
    return [{"chapter": e["chapter"], "G updates": e.get("G updates", ""), "train s": e.get("train seconds", ""),
             "data": e.get("data", ""), "hardware": e["hardware"], "date": e["date"], "figures": len(e["figures"])}
            for e in load(size)]


def missing(size: str | None = None, notebooks: str | Path = ".") -> list[str]:
    """The chapter notebooks in ``notebooks`` (files ``NN_name.ipynb``) with no record of ``size``: a record
    belongs to a notebook when its chapter name starts with the notebook's number (``"05 DCGAN on MNIST"``
    -> ``05_dcgan_mnist.ipynb``). Notebooks that record nothing by design are listed too; the results page
    itself (``NN_results.ipynb``) is not."""
    have = {e["chapter"].split(" ", 1)[0] for e in load(size)}
    found = sorted(Path(notebooks).glob("[0-9][0-9]_*.ipynb"))
    return [p.stem for p in found if p.stem[:2] not in have and not p.stem.endswith("_results")]
