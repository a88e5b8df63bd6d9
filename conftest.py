"""pytest settings shared by the unit tests and nbval.

nbval's kernels inherit this process's environment, so setting the variables here makes every notebook
run in the ``quick`` size, offline-safe, with one shared data cache.
"""
import os
from pathlib import Path

os.environ["GANLIB_SIZE"] = "quick"
os.environ.setdefault("GANLIB_DATA", str(Path(__file__).parent / "data"))
os.environ.setdefault("MPLBACKEND", "Agg")
