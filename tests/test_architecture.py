"""The package's shape (docs/architecture.md, Layers): no module imports from a layer above its own, no import
cycle, and no module over 400 lines, in the package and in the tests."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO

MOST_LINES = 400
# lowest first; a module may import from its own layer and the ones before it
LAYERS = (
    ("livecap", "livecap.errors", "livecap.camera", "livecap.fingers", "livecap.facemesh", "livecap.skeleton", "livecap.keypoints", "livecap.types",
     "livecap.mp4", "livecap.samples", "livecap.solver_cache"),
    ("livecap.models",),
    ("livecap.settings",),
    ("livecap.pose",),
    ("livecap.refine",),
    ("livecap.sinks",),
    ("livecap.sources", "livecap.workers", "livecap.engine"),
    ("livecap.app", "livecap.bench", "livecap.gui", "livecap.__main__"),
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> int:
    """The layer of the longest listed name that is the module or a package holding it (the bare package
    `livecap`, which holds only its version, is the module itself and nothing below it)."""
    found = [(len(name), i) for i, layer in enumerate(LAYERS) for name in layer
             if module == name or (name != "livecap" and module.startswith(name + "."))]
    assert found, f"{module} is in no layer: add it to LAYERS (and to docs/architecture.md)"
    return max(found)[1]


def _imports() -> dict[str, set[str]]:
    """Every livecap module and the livecap modules it imports when it is imported (top-level statements)."""
    paths = {_module_name(path): path for path in sorted((REPO / "livecap").rglob("*.py"))}
    graph = {}
    for module, path in paths.items():
        found = set()
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("livecap"):
                # `from livecap import skeleton` imports the module livecap.skeleton
                found.update(f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in paths else node.module
                             for alias in node.names)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names if alias.name.startswith("livecap"))
        graph[module] = found - {module}
    return graph


def test_no_module_imports_from_a_layer_above_its_own():
    upward = [f"{module} -> {imported}" for module, imports in _imports().items() for imported in imports
              if _layer(imported) > _layer(module)]
    assert not upward, upward


def test_there_is_no_import_cycle():
    graph = _imports()
    done, path = set(), []

    def visit(module: str) -> list[str] | None:
        if module in path:
            return path[path.index(module):] + [module]
        if module in done or module not in graph:
            return None
        path.append(module)
        for imported in sorted(graph[module]):
            if (cycle := visit(imported)) is not None:
                return cycle
        path.pop()
        done.add(module)
        return None

    for module in graph:
        assert (cycle := visit(module)) is None, " -> ".join(cycle)


def test_no_module_is_longer_than_400_lines():
    files = [*(REPO / "livecap").rglob("*.py"), *(REPO / "tests").glob("*.py"), *(REPO / "tools").glob("*.py")]
    long = {str(path.relative_to(REPO)): n for path in files if (n := len(path.read_text().splitlines())) > MOST_LINES}
    assert not long, long
