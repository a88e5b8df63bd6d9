"""pytest settings shared by the unit tests and nbval.

nbval's kernels inherit this process's environment, so setting the variables here makes every notebook
run in the ``quick`` size, offline-safe, with one shared data cache.
"""
import os
from pathlib import Path

os.environ["GANLIB_SIZE"] = "quick"
os.environ.setdefault("GANLIB_DATA", str(Path(__file__).parent / "data"))
os.environ.setdefault("MPLBACKEND", "Agg")
# One torch thread per process: CI runs two pytest workers on two cores, and tiny networks run many times
# slower when threads oversubscribe the cores (seen: 76 s with 2 threads vs 3.5 s with 1 under load).
os.environ.setdefault("OMP_NUM_THREADS", "1")
