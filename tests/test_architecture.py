"""The shape of the code, as docs/architecture.md draws it: checks that fail when it drifts.

The layer rules themselves are import-linter contracts (pyproject.toml, run by scripts/test);
here: no import cycle between any two modules, function-level imports included; every package
installed; no product module doing too many jobs (400 lines); nothing read from outside the
clone (a plain `git clone` has nothing beside it), and the test data kept byte-exact.
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "logger"
MAX_LINES = 400
# The simulator's house model is one concept (the house's physics); it may be longer.
LONGER_ALLOWED = {"logger/testbed/simulator/model.py": 700}


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iteratively: the groups of modules that import each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                groups.append(sorted(group))
    return groups


def import_graph() -> dict[str, set[str]]:
    graph = grimp.build_graph("logger", include_external_packages=False)
    return {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}


def test_the_cycle_finder_finds_a_cycle():  # the oracle of the next test, checked
    groups = strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})
    assert ["a", "b", "c"] in groups and ["d"] in groups


def test_no_module_imports_itself_through_others():
    graph = import_graph()
    assert "logger.app.service" in graph and "logger.cli.main" in graph
    # grimp records imports inside functions too: a lazy import is still an edge here.
    assert "logger.app.p1_job" in graph["logger.app.service"]
    cycles = [group for group in strongly_connected(graph) if len(group) > 1]
    self_imports = [m for m, imported in graph.items() if m in imported]
    assert cycles == [] and self_imports == []


def test_every_package_is_installed_and_migrations_live_inside_the_package():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for path in PACKAGE.rglob("__init__.py")
    }
    assert folders <= set(config["packages"])
    assert config["package-dir"] == {"logger.sink.migrations": "migrations"}
    assert not any(p == "migrations" or p.startswith("migrations.") for p in config["packages"])


def test_no_module_is_over_400_lines():
    too_long = {}
    for path in PACKAGE.rglob("*.py"):
        name = path.relative_to(ROOT).as_posix()
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > LONGER_ALLOWED.get(name, MAX_LINES):
            too_long[name] = lines
    assert too_long == {}


def tracked_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    return [ROOT / name for name in listed.split("\0") if name]


# A path that climbs out of the repository to the folder of shared material beside it (the
# telegrams were once read from there): a plain `git clone` has nothing there.
OUTSIDE_THE_CLONE = re.compile(r"""\.\./shared|parent\s*/\s*["']shared["']|["']shared["']\s*/""")


def test_nothing_in_the_project_reads_outside_the_clone():
    readers = {".py", ".sh", ".toml", ".cfg", ".ini", ".yml", ".yaml", ".service", ""}
    found = []
    for path in tracked_files():
        if path.suffix not in readers or not path.is_file() or "data" in path.parts:
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if OUTSIDE_THE_CLONE.search(line) and path.name != "test_architecture.py":
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []


def test_the_pattern_catches_the_old_way_of_reaching_shared():  # the oracle above, checked
    beside = "sha" + "red"  # spelled apart, so this oracle does not itself read as such a path
    assert OUTSIDE_THE_CLONE.search(f'TELEGRAMS = ROOT.parent / "{beside}" / "telegrams"')
    assert OUTSIDE_THE_CLONE.search(f"cat ../{beside}/telegrams/x.txt")
    assert not OUTSIDE_THE_CLONE.search('TELEGRAMS = ROOT / "tests" / "data" / "telegrams"')


def test_the_real_telegrams_are_in_the_repository_byte_exact():
    telegrams = sorted((ROOT / "tests" / "data" / "telegrams").glob("*.txt"))
    assert [p.name for p in telegrams] == [
        "telegram_fluvius_v171.txt",
        "telegram_fluvius_v171_alt.txt",
    ]
    attributes = subprocess.run(
        ["git", "check-attr", "text", "--", *[str(p.relative_to(ROOT)) for p in telegrams]],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout
    assert attributes.count("text: unset") == 2  # no end-of-line conversion on checkout
    for path in telegrams:
        data = path.read_bytes()
        assert data.count(b"\r\n") == data.count(b"\n") > 20  # every line ends in CRLF
