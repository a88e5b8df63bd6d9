"""A Sphinx extension for the book build: execute the chapters again when ganlib or the size changed.

Sphinx rebuilds incrementally: a second ``jupyter-book build`` re-reads (and so re-executes) only the pages
whose source changed. A chapter's output also depends on ganlib's code and on ``GANLIB_SIZE``, which Sphinx
does not see. This extension keeps a digest of both in Sphinx's environment and, when it differs from the
last build's, marks every notebook as changed. Re-executing is then cheap: the training runs resume from
their checkpoints and the toy runs load from the result cache (``ganlib.cache``, itself invalidated when the
training code changes).

Enabled in ``_config.yml`` under ``sphinx.local_extensions``.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

GANLIB = Path(__file__).resolve().parents[2] / "ganlib"


def build_digest() -> str:
    """sha256 of every ``ganlib/*.py`` and of the size the notebooks will run at (``GANLIB_SIZE``, unset = auto)."""
    h = hashlib.sha256(os.environ.get("GANLIB_SIZE", "auto").encode() + b"\0")
    for path in sorted(GANLIB.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def outdated_notebooks(app, env, added, changed, removed) -> list[str]:
    """Sphinx's ``env-get-outdated`` hook: every notebook page if the digest moved since the last build."""
    now, before = build_digest(), getattr(env, "ganlib_digest", None)
    env.ganlib_digest = now
    if before is None or before == now:
        return []
    pages = sorted(d for d in env.found_docs if str(env.doc2path(d, False)).endswith(".ipynb"))
    print(f"ganlib or GANLIB_SIZE changed since the last build: executing {len(pages)} notebooks again.")
    return pages


def setup(app):
    app.connect("env-get-outdated", outdated_notebooks)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
