"""The house rules of docs/design.md, read off the source: which module imports which.

Every ``import`` and ``from ... import`` in ``sktune/`` counts, those inside
functions included (a lazy import is still a dependency). The rules:

- no import circles anywhere in the package;
- the rooms are layered, lowest first (:data:`LAYERS`): a module imports its
  own room and the rooms below it, never one above, so data flows one way
  (command line -> search -> estimator -> torch; reports only read results);
- in particular the library never imports the command line;
- no room imports the facades (``sktune``, ``sktune.modules``,
  ``sktune.space``: re-exports for users), which would hide a circle behind
  their lazy imports.

The checks are functions of a source folder, so the last tests run them on
small made-up packages that break each rule.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sktune"

#: The rooms, lowest first; a module may import its own room and those below.
LAYERS = (
    ("sktune._version", "sktune.exceptions", "sktune._hf"),  # leaves: no sktune imports
    ("sktune.data",),                           # datasets, image folders, augmentation
    ("sktune.nets", "sktune.text"),             # torch networks as estimators; tokenizer
    ("sktune.persistence",),                    # save/load and the JSON codec
    ("sktune.search",),                         # spaces, the optimiser, CV searches
    ("sktune.report", "sktune.tracking"),       # read fitted searches; trackers read fits
    ("sktune.cli",),                            # the application: uses everything
)
#: Public re-exports and entry points; they may import any room, no room imports them.
FACADES = ("sktune", "sktune.__main__", "sktune.metrics", "sktune.modules", "sktune.space")


def module_files(root):
    """``{module name: path}`` of every ``.py`` file under the package folder ``root``."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    return modules


def import_graph(root):
    """``{module: {imported module of the same package, ...}}``, lazy imports included.

    ``from P import name`` is an edge to the module ``P.name`` when that is a
    module of the package, else to ``P`` itself.
    """
    modules = module_files(root)
    top = root.name
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[:len(package.split(".")) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                targets = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules
                           else source for alias in node.names]
            else:
                continue
            edges |= {t for t in targets if t == top or t.startswith(top + ".")}
        graph[name] = edges - {name}
    return graph


def _strongly_connected(graph):
    """Tarjan's algorithm: the components of ``graph`` (lists of nodes)."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def import_circles(graph):
    """Groups of modules that import each other, directly or around a circle."""
    return [c for c in _strongly_connected(graph) if len(c) > 1]


def room_of(module, layers=LAYERS):
    """``(layer index, room)`` of ``module``, or None for a facade or an unknown module."""
    for level, rooms in enumerate(layers):
        for room in rooms:
            if module == room or module.startswith(room + "."):
                return level, room
    return None


def layering_violations(graph, layers=LAYERS, facades=FACADES):
    """``importer -> imported (why)`` for every import that breaks the layering."""
    problems = []
    for importer, imported in sorted(graph.items()):
        if importer in facades:
            continue
        own = room_of(importer, layers)
        if own is None:
            problems.append(f"{importer}: in no room of LAYERS (add it to docs/design.md too)")
            continue
        for target in sorted(imported):
            if target in facades:
                problems.append(f"{importer} -> {target} (a facade: import the room itself)")
                continue
            other = room_of(target, layers)
            if other is not None and other[0] > own[0]:
                problems.append(f"{importer} -> {target} ({own[1]} is below {other[1]})")
            elif other is not None and other[0] == own[0] and other[1] != own[1]:
                problems.append(f"{importer} -> {target} (leaves import no sktune module)")
    return problems


# -- the package ------------------------------------------------------------------------------
GRAPH = import_graph(PACKAGE)


def test_the_graph_sees_the_package():
    """The parser finds the modules and the imports we know are there."""
    assert {"sktune.cli", "sktune.cli._tune", "sktune.search._gp.gp",
            "sktune.persistence._codec"} <= set(GRAPH)
    assert "sktune.search._gp.kernels" in GRAPH["sktune.search._gp.gp"]  # from .kernels
    assert "sktune.cli._tune" in GRAPH["sktune.cli"]                      # from . import _tune
    assert "sktune.nets._base" in GRAPH["sktune.persistence._archive"]   # a lazy import


def test_no_import_circles():
    assert import_circles(GRAPH) == []


def test_rooms_are_layered():
    assert layering_violations(GRAPH) == []


def test_the_library_never_imports_the_command_line():
    offenders = {module: sorted(t for t in targets if t.startswith("sktune.cli"))
                 for module, targets in GRAPH.items()
                 if not module.startswith("sktune.cli") and module != "sktune.__main__"}
    assert {m: t for m, t in offenders.items() if t} == {}


def test_every_module_has_a_docstring():
    """A newcomer learns what a module is for from its first lines."""
    missing = [name for name, path in module_files(PACKAGE).items()
               if ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) is None]
    assert missing == []


# -- the checks can fail --------------------------------------------------------------------
def _write_package(root, files):
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "pkg"


def test_a_circle_is_found(tmp_path):
    root = _write_package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "from . import b\n",
        "pkg/b.py": "def f():\n    from .c import g\n",   # lazily, through c
        "pkg/c.py": "from pkg.a import x\n",
        "pkg/d.py": "from .a import x\n",                     # imports the circle, not in it
    })
    assert import_circles(import_graph(root)) == [["pkg.a", "pkg.b", "pkg.c"]]


def test_imports_against_the_layers_are_found(tmp_path):
    root = _write_package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/errors.py": "",
        "pkg/core/__init__.py": "from .model import Model\n",
        "pkg/core/model.py": "from ..errors import E\n\ndef run():\n    from ..app import main\n",
        "pkg/core/other.py": "from pkg import thing\n",
        "pkg/app/__init__.py": "from ..core import Model\n",
        "pkg/stray.py": "",
    })
    layers = (("pkg.errors",), ("pkg.core",), ("pkg.app",))
    problems = layering_violations(import_graph(root), layers, facades=("pkg",))
    assert problems == [
        "pkg.core.model -> pkg.app (pkg.core is below pkg.app)",
        "pkg.core.other -> pkg (a facade: import the room itself)",
        "pkg.stray: in no room of LAYERS (add it to docs/design.md too)",
    ]


@pytest.mark.parametrize("level, expected", [(1, "pkg.sub.x"), (2, "pkg.x")])
def test_relative_imports_resolve(tmp_path, level, expected):
    root = _write_package(tmp_path, {
        "pkg/__init__.py": "", "pkg/x.py": "", "pkg/sub/__init__.py": "", "pkg/sub/x.py": "",
        "pkg/sub/user.py": f"from {'.' * level}x import name\n",
    })
    assert import_graph(root)["pkg.sub.user"] == {expected}
