"""pyproject.toml declares every third-party package that ganlib imports, so that `pip install` of ganlib
alone (as the notebooks' setup cell does on Colab) gives a working library."""
import ast
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DISTRIBUTION = {"PIL": "pillow", "skimage": "scikit-image", "sklearn": "scikit-learn", "yaml": "pyyaml"}


def _imported_packages() -> dict[str, set[str]]:
    """{top-level package: files importing it} over ganlib/*.py, standard library and ganlib left out."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "ganlib").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ("ganlib", "__future__"):
                    found.setdefault(top, set()).add(path.name)
    return found


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {re.split(r"[\s<>=!~\[;@]", dep, maxsplit=1)[0].lower().replace("_", "-")
            for dep in project["dependencies"]}


def test_every_imported_package_is_declared():
    declared = _declared()
    missing = {DISTRIBUTION.get(top, top).lower(): files for top, files in _imported_packages().items()
               if DISTRIBUTION.get(top, top).lower() not in declared}
    assert not missing, f"imported by ganlib but not in pyproject.toml's dependencies: {missing}"


def test_torch_is_never_pinned():
    """An exact pin would make pip replace the torch a Colab runtime comes with."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    for dep in project["dependencies"]:
        if re.match(r"torch(vision)?\b", dep):
            assert "==" not in dep and "<" not in dep, dep
