"""The directions of dependence (STYLE.md): which part may import which, read from the
source with `ast`, so a wrong arrow fails here before it sets."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import chanalytics

SRC = Path(chanalytics.__file__).parent
# Calls that run a statement on storage: never made by a handler.
STORAGE_CALLS = frozenset({"query", "command", "stream", "stream_formatted", "insert",
                           "query_sync", "command_sync"})
SQL = re.compile(r"\b(SELECT\b.*\bFROM|INSERT\s+INTO|ALTER\s+TABLE|CREATE\s+(TABLE|VIEW)"
                 r"|DROP\s+TABLE)\b", re.DOTALL)


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, ast.Module]:
    return {module_name(p): ast.parse(p.read_text(), str(p)) for p in SRC.rglob("*.py")}


def imports(tree: ast.Module) -> set[str]:
    """Every chanalytics module a module imports, at its top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return {name for name in found if name.startswith("chanalytics")}


def within(name: str, part: str) -> bool:
    return name == part or name.startswith(part + ".")


def importers(of: str, by: str) -> Iterator[str]:
    """Modules inside `by` that import anything inside `of`."""
    for name, tree in modules().items():
        if within(name, by) and any(within(i, of) for i in imports(tree)):
            yield name


class TestArrows:
    def test_storage_imports_no_other_part(self) -> None:
        """storage.py imports no module of chanalytics (the cluster layout is passed in)."""
        assert imports(modules()["chanalytics.clickhouse.storage"]) == set()

    def test_the_engine_never_imports_the_api(self) -> None:
        """Nothing under chanalytics.query imports chanalytics.api."""
        assert list(importers("chanalytics.api", by="chanalytics.query")) == []

    def test_budgets_and_the_engine_do_not_import_each_other(self) -> None:
        """The engine reads budgets (the costs preset); budgets imports nothing of it."""
        assert list(importers("chanalytics.query", by="chanalytics.budgets")) == []

    def test_ingest_and_the_engine_do_not_import_each_other(self) -> None:
        """ingest/ and query/ both use storage and never each other."""
        assert list(importers("chanalytics.query", by="chanalytics.ingest")) == []
        assert list(importers("chanalytics.ingest", by="chanalytics.query")) == []

    def test_coordination_serves_the_parts_and_imports_none_of_them(self) -> None:
        """The lease and the back-off are used by ingest and the schedulers; they import
        neither, nor the engine, the API or the deliveries."""
        for part in ("ingest", "query", "api", "deliveries"):
            assert list(importers(f"chanalytics.{part}", by="chanalytics.coordination")) == []


    def test_the_warehouse_feed_uses_the_engine_not_ingest_or_the_api(self) -> None:
        """warehouse/ encodes with the engine; the daily job's lock is passed in, so it
        imports neither ingest/ nor api/ (the CLI wires them)."""
        assert list(importers("chanalytics.ingest", by="chanalytics.warehouse")) == []
        assert list(importers("chanalytics.api", by="chanalytics.warehouse")) == []


class TestThinHandlers:
    def api(self) -> dict[str, ast.Module]:
        return {n: t for n, t in modules().items() if within(n, "chanalytics.api")}

    def test_no_handler_runs_a_statement(self) -> None:
        """No module of api/ calls a storage method that runs SQL."""
        calls = [(name, node.lineno) for name, tree in self.api().items()
                 for node in ast.walk(tree)
                 if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                 and node.func.attr in STORAGE_CALLS]
        assert calls == []

    def test_no_handler_holds_sql(self) -> None:
        """No string in api/ is SQL text: statements are composed by the engine."""
        texts = [(name, node.lineno) for name, tree in self.api().items()
                 for node in ast.walk(tree)
                 if isinstance(node, ast.Constant) and isinstance(node.value, str)
                 and SQL.search(node.value)]
        assert texts == []

    def test_handlers_take_services_from_provide(self) -> None:
        """Only the dependencies (api/dependencies.py, api/auth.py, and api/services.py
        which reads the one `Services` object) take `State` or read `app.state`; a handler
        names the services it needs."""
        allowed = {"chanalytics.api.dependencies", "chanalytics.api.auth",
                   "chanalytics.api.services"}
        readers = set()
        for name, tree in self.api().items():
            for node in ast.walk(tree):
                takes_state = (isinstance(node, ast.arg) and isinstance(node.annotation, ast.Name)
                               and node.annotation.id == "State")
                reads_state = (isinstance(node, ast.Attribute) and node.attr == "state"
                               and isinstance(node.value, ast.Attribute)
                               and node.value.attr == "app")
                if takes_state or reads_state:
                    readers.add(name)
        assert readers <= allowed
