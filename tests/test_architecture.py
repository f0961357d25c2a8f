"""The package's layout is its architecture: rooms along the pipeline, each importing
only rooms below it, no import cycles, no oversized modules.

The graph is read from the source (ast), every import statement counted, those
inside functions and `if TYPE_CHECKING:` too: a lazy import still ties two
modules together.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "genrerec"
# Rooms in pipeline order: a room may import rooms of a lower rank only (equal ranks may
# not import each other). Top-level modules (SHARED) import no room; nothing imports `genrerec`
# itself, the public API.
RANKS = {"audio": 1, "models": 2, "training": 3, "library": 3, "engine": 4, "recommend": 5, "playlists": 6,
         "media": 7, "subsonic": 8, "mpd": 8, "web": 9, "cli": 10, "demo": 10}
SHARED = {"errors", "faults", "safety", "utils", "version"}
MAX_TOP_LEVEL = 8
DOCUMENTS_THE_API = {"genrerec.cli.docgen"}  # writes docs/api.md from the public API, so it imports it
MAX_LINES = 450


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path) -> dict[str, set[str]]:
    """{module: modules it imports} for every .py under root (a package folder)."""
    files = {module_name(p, root): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in files}
    for mod, path in files.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                # `from pkg import sub` imports the submodule pkg.sub
                targets = [f"{target}.{a.name}" if f"{target}.{a.name}" in files else target for a in node.names]
            else:
                continue
            graph[mod] |= {t for t in targets if t in files and t != mod}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for d in sorted(graph[m]):
            if state.get(d) == 1:
                return stack[stack.index(d):] + [d]
            if d not in state and (found := visit(d)):
                return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m)):
            return found
    return None


def room_of(mod: str) -> str:
    parts = mod.split(".")
    return parts[1] if len(parts) > 1 else ""


def room_violations(graph: dict[str, set[str]]) -> list[str]:
    bad = []
    for mod, deps in graph.items():
        src = room_of(mod)
        for dep in deps:
            dst = room_of(dep)
            if dst == src:
                continue
            if dst == "" and mod in DOCUMENTS_THE_API:
                continue
            if dst == "":
                bad.append(f"{mod} imports the public API module genrerec (import what it needs from its room)")
            elif src in SHARED and dst not in SHARED:
                bad.append(f"{mod} is a shared helper but imports the room {dst} ({dep})")
            elif src in RANKS and dst in RANKS and RANKS[dst] >= RANKS[src]:
                bad.append(f"{mod} ({src}) imports {dep} ({dst}): a room imports only rooms below it")
    return sorted(bad)


GRAPH = import_graph(PACKAGE)


def test_no_import_cycles():
    cycle = find_cycle(GRAPH)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_rooms_import_only_rooms_below_them():
    assert room_violations(GRAPH) == []


def test_every_module_lives_in_a_known_room():
    unknown = {room_of(m) for m in GRAPH} - set(RANKS) - SHARED - {"", "__main__"}
    assert unknown == set(), f"add these rooms to RANKS (in pipeline order): {sorted(unknown)}"


def test_few_modules_at_the_top():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL, top


def test_no_source_file_too_long():
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}, f"split these along their concerns (over {MAX_LINES} lines): {long}"


def test_each_room_says_what_it_holds_and_may_import():
    for init in sorted(PACKAGE.glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text())) or ""
        assert doc.startswith(init.parent.name + ":"), f"{init}: docstring should start with the room's name"
        assert "import" in doc.lower(), f"{init}: docstring should say which rooms it may import"


# --- the checks themselves catch what they are for ------------------------------------------

def write_package(root: Path, files: dict[str, str]) -> Path:
    pkg = root / "genrerec"
    for name, text in files.items():
        f = pkg / name
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text)
    return pkg


def test_a_lazy_import_cycle_is_found(tmp_path):
    pkg = write_package(tmp_path, {
        "__init__.py": "",
        "recommend/__init__.py": "",
        "recommend/recommender.py": "def path():\n    from .paths import song_path\n",
        "recommend/paths.py": "from .recommender import Recommender\n",
    })
    assert find_cycle(import_graph(pkg)) == ["genrerec.recommend.paths", "genrerec.recommend.recommender",
                                             "genrerec.recommend.paths"]


@pytest.mark.parametrize("files, expected", [
    ({"library/scan.py": "from ..engine import base\n"}, "genrerec.library.scan (library) imports genrerec.engine.base"),
    ({"safety.py": "from .library.location import X\n"}, "genrerec.safety is a shared helper"),
    ({"models/checkpoint.py": "from .. import __version__\n"}, "imports the public API module"),
])
def test_an_upward_import_is_a_violation(tmp_path, files, expected):
    base = {"__init__.py": "", "engine/__init__.py": "", "engine/base.py": "", "library/__init__.py": "",
            "library/location.py": "", "models/__init__.py": ""}
    bad = room_violations(import_graph(write_package(tmp_path, {**base, **files})))
    assert len(bad) == 1 and expected in bad[0], bad
