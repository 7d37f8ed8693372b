"""The architecture, checked: imports run one way between layers, no cycles, libraries kept in place.

cli -> eval -> app/qa -> (index, retrieve, answer) -> (ingest, store, embed) -> base modules.
Every import counts, including those inside functions and under TYPE_CHECKING.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "assistant"

LAYERS = {  # top-level part of the package -> its layer (a module may import its layer or below)
    "__init__": 0, "config": 0, "errors": 0, "models": 0, "dates": 0, "text": 0, "deadline": 0,
    "sqlite_cache": 0,
    "ingest": 1, "store": 1, "embed": 1,
    "index": 2, "retrieve": 2, "answer": 2,
    "app": 3, "qa": 3,
    "eval": 4,
    "cli": 5, "__main__": 5,
}  # fmt: skip
APART = {  # parts of one layer, or of layers next to each other, that must not import one another:
    # the answer layer receives passages and never searches or opens a store; retrieval never answers
    "answer": {"retrieve", "store"},
    "retrieve": {"answer"},
}
ONLY_UNDER = {  # third-party packages and the parts of ours allowed to import them
    "click": {"cli"},
    "llama_index": {"ingest", "embed", "store", "retrieve"},
    "chromadb": {"store"},
}


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, name: str) -> set[str]:
    """Every module name imported anywhere in the file (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def part_of(module: str) -> str:
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else "__init__"


def graph(root: Path) -> dict[str, set[str]]:
    """Our module -> the modules of ours it imports."""
    files = {module_name(p, root): p for p in root.rglob("*.py")}
    out: dict[str, set[str]] = {}
    for name, path in files.items():
        out[name] = {m for m in imports_of(path, name) if m in files and m != name}
    return out


def violations(root: Path) -> list[str]:
    """Upward imports, misplaced third-party imports and import cycles under `root`."""
    problems: list[str] = []
    edges = graph(root)
    for src, targets in sorted(edges.items()):
        for dst in sorted(targets):
            if LAYERS[part_of(dst)] > LAYERS[part_of(src)]:
                problems.append(f"upward import: {src} -> {dst}")
            elif part_of(dst) in APART.get(part_of(src), set()):
                problems.append(f"{part_of(src)}/ imports {part_of(dst)}/: {src} -> {dst}")
    for src, path in ((module_name(p, root), p) for p in root.rglob("*.py")):
        mods = imports_of(path, src)
        for lib, allowed in ONLY_UNDER.items():
            if part_of(src) not in allowed and any(m == lib or m.startswith(lib + ".") for m in mods):
                problems.append(f"{lib} imported outside {sorted(allowed)}: {src}")
    problems.extend(f"import cycle among: {', '.join(c)}" for c in cycles(edges))
    return problems


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The modules of each group that import one another in a circle (Tarjan's strongly
    connected components of more than one module), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_package_follows_its_layers() -> None:
    assert violations(PACKAGE) == []


def test_every_part_of_the_package_has_a_layer() -> None:
    parts = {p.stem if p.parent == PACKAGE else p.relative_to(PACKAGE).parts[0]
             for p in PACKAGE.rglob("*.py")}
    assert parts <= set(LAYERS), parts - set(LAYERS)


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "assistant"
    for name, text in {"__init__.py": "", **files}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize(("files", "expected"), [
    ({"store/__init__.py": "", "store/a.py": "from assistant.store import b\n",
      "store/b.py": "def f():\n    from assistant.store.a import x\n"},
     "import cycle among: assistant.store.a, assistant.store.b"),
    ({"store/__init__.py": "", "store/a.py": "from assistant.app import App\n", "app.py": ""},
     "upward import: assistant.store.a -> assistant.app"),
    ({"answer/__init__.py": "", "answer/a.py": "import click\n"},
     "click imported outside ['cli']: assistant.answer.a"),
    ({"answer/__init__.py": "", "answer/a.py": "from chromadb import Client\n"},
     "chromadb imported outside ['store']: assistant.answer.a"),
    ({"answer/__init__.py": "", "answer/a.py": "from assistant.retrieve.hybrid import Query\n",
      "retrieve/__init__.py": "", "retrieve/hybrid.py": ""},
     "answer/ imports retrieve/: assistant.answer.a -> assistant.retrieve.hybrid"),
    ({"answer/__init__.py": "", "answer/a.py": "def f():\n    from assistant.store import lexical\n",
      "store/__init__.py": "", "store/lexical.py": ""},
     "answer/ imports store/: assistant.answer.a -> assistant.store.lexical"),
    ({"retrieve/__init__.py": "", "retrieve/a.py": "from assistant.answer import citations\n",
      "answer/__init__.py": "", "answer/citations.py": ""},
     "retrieve/ imports answer/: assistant.retrieve.a -> assistant.answer.citations"),
])
def test_the_checker_finds_cycles_upward_imports_and_misplaced_libraries(
        tmp_path: Path, files: dict[str, str], expected: str) -> None:
    assert expected in violations(_tree(tmp_path, files))
