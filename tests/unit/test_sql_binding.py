"""No query text is built from request values: SQL is fixed text with bound parameters."""

from __future__ import annotations

import ast
import re
from importlib import resources
from pathlib import Path

import pytest

from chanalytics.query.buckets import BucketGrid, LocalBuckets
from chanalytics.query.statements import statement
from chanalytics.query.timerange import Granularity

# Every fragment a statement can be given: each granularity's local-clock SQL and the grid.
BUCKET_VARIANTS: list[LocalBuckets] = [
    *(LocalBuckets(granularity, [], None) for granularity in Granularity),
    LocalBuckets(Granularity.HOUR, [], BucketGrid(3600, 0)),
]


SQL_DIR = Path(str(resources.files("chanalytics.query").joinpath("sql")))
QUERY_SRC = Path(str(resources.files("chanalytics.query")))
SQL_SHAPE = re.compile(r"\bSELECT\b|\bINSERT\s+INTO\b|\bWHERE\s+\w+\s*(=|IN\b)")
PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*):([A-Za-z0-9_(), ']+)\}")


class TestSqlFiles:
    @pytest.mark.parametrize("path", sorted(SQL_DIR.glob("*.sql")), ids=lambda p: p.name)
    def test_every_brace_is_a_bound_parameter(self, path: Path) -> None:
        """Each `{...}` in a query file is a server-side `{name:Type}` parameter."""
        text = path.read_text()
        for buckets in (None, *BUCKET_VARIANTS):
            try:
                sql = statement(path.stem, buckets)
            except ValueError:
                continue
            without = PLACEHOLDER.sub("", sql)
            assert "{" not in without and "}" not in without, path.name
        assert "tenant_id = {tenant:String}" in text, f"{path.name} must bind the tenant"


class TestQueryCode:
    @pytest.mark.parametrize("path", sorted(QUERY_SRC.glob("*.py")), ids=lambda p: p.name)
    def test_no_sql_is_formatted_in_code(self, path: Path) -> None:
        """Query modules contain no f-strings, `%` or `.format` building SQL text."""
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                text = "".join(v.value for v in node.values if isinstance(v, ast.Constant)
                               and isinstance(v.value, str)).upper()
                assert not SQL_SHAPE.search(text), (
                    f"{path.name}:{node.lineno} builds SQL in an f-string")
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "format" and isinstance(node.func.value, ast.Constant)):
                raise AssertionError(f"{path.name}:{node.lineno} uses str.format")
