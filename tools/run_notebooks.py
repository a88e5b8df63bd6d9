"""Execute notebooks top to bottom with nbclient, as a reader's "Run all" would, and fail if any cell fails.

    python tools/run_notebooks.py [--jobs N] [--timeout S] NOTEBOOK.ipynb ...

Each notebook runs in a fresh kernel of THIS interpreter's environment, with the notebook's folder as the
working directory, and is saved back with its outputs (so run it on copies). The environment variables
(GANLIB_SIZE, GANLIB_DATA, OMP_NUM_THREADS, ...) pass through to the kernels. Needs only nbclient,
nbformat and ipykernel: .ci/run uses it for the Colab-like job, in an environment without nbval or
jupyter-book. Prints one line per notebook and exits 1 if any failed.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def kernel_is_this_python(name: str = "python3") -> str | None:
    """None if kernel ``name`` runs this interpreter, else the reason it does not."""
    from jupyter_client.kernelspec import KernelSpecManager

    argv0 = KernelSpecManager().get_kernel_spec(name).argv[0]
    # jupyter_client replaces a bare "python" (or python3, python3.11) by the interpreter that starts it
    if argv0 in ("python", f"python{sys.version_info[0]}", "python%d.%d" % sys.version_info[:2]):
        return None
    if Path(argv0).resolve() == Path(sys.executable).resolve():
        return None
    return f"kernel {name!r} runs {argv0}, not {sys.executable}"


def execute(path: Path, timeout: int) -> int:
    """Run one notebook in place; print its time or its error; 0 if it ran through."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    start = time.perf_counter()
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError) as error:
        print(f"FAILED {path.name} after {time.perf_counter() - start:.0f} s:\n{error}", flush=True)
        return 1
    finally:
        nbformat.write(nb, path)
    print(f"ok     {path.name} in {time.perf_counter() - start:.0f} s", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--jobs", type=int, default=1, help="notebooks run at the same time (default 1)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds allowed per cell (default 1800)")
    args = parser.parse_args(argv)
    wrong = kernel_is_this_python()
    if wrong:
        print(f"run_notebooks: {wrong}", file=sys.stderr)
        return 2
    if len(args.notebooks) == 1:
        return execute(args.notebooks[0].resolve(), args.timeout)
    start = time.perf_counter()

    def one(path: Path) -> int:  # one process per notebook: each gets its own kernel and event loop
        return subprocess.run([sys.executable, __file__, "--timeout", str(args.timeout), str(path)]).returncode

    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        failed = sum(code != 0 for code in pool.map(one, args.notebooks))
    total = len(args.notebooks)
    print(f"run_notebooks: {total - failed} of {total} notebook(s) ran through, {failed} failed, "
          f"in {time.perf_counter() - start:.0f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
