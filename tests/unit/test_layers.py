"""tfdp's modules import one another in layers (docs/architecture.md): no
import cycle, counting the imports inside functions, and FiftyOne only
above the core."""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2] / "tfdp"


def _module_names():
    # module name -> its file, packages by their __init__.py
    names = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


MODULES = _module_names()


def _imports(name, path):
    # every module named by an import anywhere in the file: `from a import
    # b` names a.b when that is a module, else a
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(
                    base + ([node.module] if node.module else [])
                )
            else:
                module = node.module
            for alias in node.names:
                child = "%s.%s" % (module, alias.name)
                found.add(child if child in MODULES else module)
    return found


GRAPH = {
    name: {m for m in _imports(name, path) if m in MODULES and m != name}
    for name, path in MODULES.items()
}
EXTERNAL = {name: _imports(name, path) for name, path in MODULES.items()}


def _cycles(graph):
    # the strongly connected components of more than one module (Tarjan)
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _outside_engine(graph):
    return {
        name: {m for m in deps if not m.startswith("tfdp.engine")}
        for name, deps in graph.items()
        if not name.startswith("tfdp.engine")
    }


def test_the_modules_are_found():
    for name in (
        "tfdp",
        "tfdp.coco",
        "tfdp.segmentation",
        "tfdp.eligibility",
        "tfdp.fo_adapter.runs",
        "tfdp.engine.local",
    ):
        assert name in MODULES
    assert "tfdp.segmentation" in GRAPH["tfdp.coco"]
    assert "tfdp.fo_adapter.runs" in GRAPH["tfdp"]  # inside functions


def test_no_import_cycle():
    assert _cycles(_outside_engine(GRAPH)) == []


def test_no_import_cycle_in_the_engine_package():
    assert _cycles(GRAPH) == []


def test_the_cycle_finder_finds_cycles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def _reaches(start):
    seen, todo = set(), [start]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(GRAPH[name])
    return seen


@pytest.mark.parametrize(
    "name",
    sorted(
        n
        for n in MODULES
        if n != "tfdp" and not n.startswith("tfdp.fo_adapter")
    ),
)
def test_the_core_never_imports_fiftyone(name):
    # at any depth: the command and the geometry must not pay for FiftyOne
    for module in _reaches(name):
        assert not any(
            m == "fiftyone" or m.startswith("fiftyone.")
            for m in EXTERNAL[module]
        ), "%s imports FiftyOne (through %s)" % (name, module)
