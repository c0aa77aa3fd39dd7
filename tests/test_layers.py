"""The layers of server/ (server/README.md): arrows point inward, pure cores stay pure."""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

SERVER = Path(__file__).resolve().parent.parent / "server"
PURE_CORES = (
    "visits/status.py",
    "scheduling/ladder.py",
    "scheduling/recurrence.py",
    "scheduling/occurrences.py",
    "scheduling/plan_rules.py",
    "rooms/registry.py",
    "rooms/policy.py",
    "notices/texts.py",
    "notices/rules.py",
    "localtime.py",
    "vocabulary.py",
)
IO_LIBRARIES = ("aiohttp", "sqlalchemy", "asyncio", "redis")
DATA_LAYER = ("visits", "rooms", "scheduling", "citizens", "admin", "notices")


def module_of(path: Path) -> str:
    """``server.visits.status`` for ``server/visits/status.py``."""
    parts = path.relative_to(SERVER.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> Iterator[str]:
    """Every module name a file imports, relative imports resolved."""
    module = module_of(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def unit(module: str) -> str | None:
    """The package or top-level module of server/ that a module belongs to."""
    parts = module.split(".")
    if parts[0] != "server" or len(parts) < 2:
        return None
    return (
        parts[1] if (SERVER / parts[1]).exists() or (SERVER / f"{parts[1]}.py").exists() else None
    )


def unit_graph() -> dict[str, set[str]]:
    """Which units of server/ import which."""
    graph: defaultdict[str, set[str]] = defaultdict(set)
    for path in SERVER.rglob("*.py"):
        source = unit(module_of(path))
        for name in imported(path):
            target = unit(name)
            if source and target and target != source:
                graph[source].add(target)
    return graph


def test_layers_no_import_cycles() -> None:
    """No unit of server/ reaches itself through its imports (two-way pairs or longer)."""
    graph = unit_graph()

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, ()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    assert [u for u in sorted(graph) if reaches(u, u, {u})] == []


@pytest.mark.parametrize("core", PURE_CORES)
def test_layers_pure_cores_do_no_io(core: str) -> None:
    """Pure cores import no I/O library: they are tested without a loop or a database."""
    names = set(imported(SERVER / core))
    assert sorted(n for n in names if n.split(".")[0] in IO_LIBRARIES) == []


@pytest.mark.parametrize("package", DATA_LAYER)
def test_layers_services_know_no_requests(package: str) -> None:
    """Services and the data layer import nothing of the edges (api, pages, signaling)."""
    edges = {"api", "pages", "signaling"}
    for path in (SERVER / package).rglob("*.py"):
        targets = {unit(name) for name in imported(path)}
        assert not targets & edges, f"{path.relative_to(SERVER)} imports an edge"
