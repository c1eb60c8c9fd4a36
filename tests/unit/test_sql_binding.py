"""No request value is ever written into SQL: the compiler binds every one of them."""

from __future__ import annotations

import ast
import itertools
import re
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from chanalytics.query.clock import Granularity, TimeWindow
from chanalytics.query.compiler import compile_statement
from chanalytics.query.dimensions import DIMENSIONS
from chanalytics.query.measures import MEASURES
from chanalytics.query.model import Filter, Query
from chanalytics.query.planner import plan

PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*):([A-Za-z0-9_(), ']+)\}")
# A request value that would change the statement if it reached the text.
EVIL = "x') OR 1=1 --{p0:String}"
FILTERABLE = [d.name for d in DIMENSIONS.values() if not d.clock and d.public]
QUERY_SRC = Path(str(resources.files("chanalytics.query")))
SQL_SHAPE = re.compile(r"\bSELECT\b|\bINSERT\s+INTO\b|\bWHERE\s+\w+\s*(=|IN\b)")


def queries() -> list[Query]:
    window = TimeWindow(start=datetime(2026, 3, 1, 10, 7, tzinfo=UTC),
                        end=datetime(2026, 3, 9, 8, 20, tzinfo=UTC),
                        tz=ZoneInfo("Asia/Kathmandu"), tz_name="Asia/Kathmandu")
    found = []
    for name, dimension in itertools.product(MEASURES, [*FILTERABLE, "time", "hourOfDay"]):
        if name == "active_enrollments":
            continue
        filters = (Filter(FILTERABLE[len(found) % len(FILTERABLE)], "is", (EVIL, None)),
                   Filter("campaign", "contains", (EVIL,)))
        found.append(Query(tenant_id=EVIL, window=window, measures=(name,),
                           groupings=((dimension,), ()), filters=filters,
                           granularity=Granularity.HOUR))
    return found


class TestCompiledStatements:
    @pytest.mark.parametrize(
        "query", queries(), ids=lambda q: f"{q.measures[0]}-{q.groupings[0][0]}")
    def test_values_reach_clickhouse_only_as_parameters(self, query: Query) -> None:
        """The request's tenant, filter values and search text appear only among the bound
        values; every `{…}` of the text is a placeholder with a value."""
        planned = plan(query)
        for statement in planned.statements:
            compiled = compile_statement(statement, planned)
            assert EVIL not in compiled.sql
            assert "OR 1=1" not in compiled.sql
            for name, _type in PLACEHOLDER.findall(compiled.sql):
                assert name in compiled.params, name
            assert "{" not in PLACEHOLDER.sub("", compiled.sql)
            assert "tenant_id = {tenant:String}" in compiled.sql


class TestNoSqlOutsideTheCompiler:
    @pytest.mark.parametrize(
        "path", sorted((QUERY_SRC / "presets").glob("*.py")) + sorted(
            Path(str(resources.files("chanalytics.api"))).glob("*.py")),
        ids=lambda p: p.name)
    def test_presets_and_handlers_hold_no_sql(self, path: Path) -> None:
        """Endpoint presets and HTTP handlers never write SQL: only the engine does."""
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert not SQL_SHAPE.search(node.value.upper()), (
                    f"{path.name}:{node.lineno} holds SQL")
