"""The shape of ganlib: every import points down the floors of ganlib/__init__.py, so there is no cycle."""
import ast
from pathlib import Path

import pytest

import ganlib

PACKAGE = Path(ganlib.__file__).parent
MODULES = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")


def ganlib_imports(module: str) -> set[str]:
    """The ganlib modules ``module`` imports anywhere in its source (top level or inside functions)."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ganlib."):
            found.add(node.module.split(".")[1])
    return found & set(MODULES)


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle in ``graph`` as a list of nodes, or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_every_module_has_a_floor():
    assert set(MODULES) == set(ganlib.FLOORS), "add the module to FLOORS in ganlib/__init__.py (and to the map)"


@pytest.mark.parametrize("module", MODULES)
def test_imports_point_down_the_floors(module):
    up = {m: ganlib.FLOORS[m] for m in ganlib_imports(module) if ganlib.FLOORS[m] >= ganlib.FLOORS[module]}
    assert not up, f"{module} (floor {ganlib.FLOORS[module]}) imports modules on its own floor or above: {up}"


def test_there_is_no_import_cycle():
    assert find_cycle({m: ganlib_imports(m) for m in MODULES}) is None


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_the_map_names_every_module():
    doc = ganlib.__doc__
    for module in MODULES:
        if ganlib.FLOORS[module] < 5:
            assert f" {module} " in doc, f"the map in ganlib/__init__.py does not describe {module}"
