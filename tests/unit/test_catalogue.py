"""Every derived number has one definition, in the catalogue (`query/metrics.py`): the
presets only choose and shape, and every rate an endpoint answers, and every metric of
docs/reports.md, is a catalogue entry."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from types import ModuleType

import msgspec
import pytest

from chanalytics.query import presets
from chanalytics.query.compare import changes
from chanalytics.query.metrics import CATALOGUE, FIELDS, MEANS, METRICS, RateMean, entry

ROOT = Path(__file__).resolve().parents[2]
COMPUTING = {"percent", "mean_percent", "ratio", "rounded", "round_decimal"}
# Numbers an answer echoes rather than derives: the tenant's own budget setting.
INPUTS = {"monthlyBudget"}
MODULES = [importlib.import_module(f"{presets.__name__}.{m.name}")
           for m in pkgutil.iter_modules(presets.__path__)]


def _called(node: ast.Call) -> str | None:
    func = node.func
    return func.id if isinstance(func, ast.Name) else (
        func.attr if isinstance(func, ast.Attribute) else None)


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
class TestPresetsOnlyChooseAndShape:
    def test_no_rate_or_rounding_is_computed(self, module: ModuleType) -> None:
        tree = ast.parse(Path(str(module.__file__)).read_text())
        calls = {_called(n) for n in ast.walk(tree) if isinstance(n, ast.Call)}
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                    for a in n.names}
        assert not (calls | imported) & COMPUTING

    def test_no_sql_text(self, module: ModuleType) -> None:
        tree = ast.parse(Path(str(module.__file__)).read_text())
        texts = [n.value for n in ast.walk(tree)
                 if isinstance(n, ast.Constant) and isinstance(n.value, str)]
        assert not [t for t in texts if "SELECT" in t or "FROM " in t]


SRC = ROOT / "src" / "chanalytics"
# Where SQL text may be written: the compiler and its parts, the storage side (DDL,
# migrations), ingest's exactly-once writer and drift check, and the budgets' and alerts'
# own tables.
SQL_WRITERS = ("query/compiler.py", "query/sql.py", "query/names.py", "clickhouse/",
               "ingest/", "budgets.py", "alerts/store.py",
               "reports/store.py")


def _docstrings(tree: ast.Module) -> set[int]:
    nodes = [tree, *(n for n in ast.walk(tree) if isinstance(
        n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef))]
    return {id(n.body[0].value) for n in nodes if n.body and isinstance(n.body[0], ast.Expr)
            and isinstance(n.body[0].value, ast.Constant)}


def test_no_sql_text_outside_the_compiler() -> None:
    """Every read goes plan → compile → execute: no other module writes SELECT … FROM."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        name = path.relative_to(SRC).as_posix()
        if name.startswith(SQL_WRITERS):
            continue
        tree = ast.parse(path.read_text())
        skip = _docstrings(tree)
        found += [f"{name}:{n.lineno}" for n in ast.walk(tree)
                  if isinstance(n, ast.Constant) and isinstance(n.value, str)
                  and id(n) not in skip and ("SELECT" in n.value or "FROM " in n.value)]
    assert found == []


def test_every_read_goes_through_the_engine() -> None:
    """No module of the engine's package but `engine.py` touches storage: queries, read
    models, report pages and exports all read through the engine (`run_all`, `read`,
    `stream`), so every read of a tenant's data is kept and reused the same way."""
    found = []
    for path in sorted((SRC / "query").rglob("*.py")):
        if path.name == "engine.py":
            continue
        found += [f"{path.relative_to(SRC)}:{n.lineno}"
                  for n in ast.walk(ast.parse(path.read_text()))
                  if isinstance(n, ast.Attribute) and n.attr == "storage"]
    assert found == []


def _report_metrics() -> list[str]:
    """The names of docs/reports.md's metric table."""
    text = (ROOT / "docs" / "reports.md").read_text()
    table = text.split("### Metrics", 1)[1].split("\n### ", 1)[0]
    rows = [line.split("|")[1] for line in table.splitlines() if line.startswith("| `")]
    return [name for cell in rows for name in re.findall(r"`([A-Za-z0-9]+)`", cell)]


def test_every_report_metric_is_an_entry_and_query_answers_exactly_those() -> None:
    names = _report_metrics()
    assert len(names) == 32
    assert all(name in CATALOGUE for name in names)
    assert list(METRICS) == names


def _numbers(info: msgspec.inspect.Type, seen: set[str]) -> Iterator[tuple[str, bool]]:
    """(field name, is a float) of every number field under `info`, nested included."""
    match info:
        case msgspec.inspect.StructType():
            if info.cls.__name__ in seen:  # `comparison` is the answer again
                return
            seen.add(info.cls.__name__)
            for field in info.fields:
                kinds = field.type.types if isinstance(
                    field.type, msgspec.inspect.UnionType) else (field.type,)
                for kind in kinds:
                    if isinstance(kind, msgspec.inspect.IntType | msgspec.inspect.FloatType):
                        yield field.encode_name, isinstance(kind, msgspec.inspect.FloatType)
                    elif field.name != "change":  # the changes, keyed by the summary's
                        yield from _numbers(kind, seen)
        case msgspec.inspect.ListType() | msgspec.inspect.DictType():
            yield from _numbers(
                info.item_type if isinstance(info, msgspec.inspect.ListType)
                else info.value_type, seen)
        case _:
            return


ANSWERS = [cls for m in MODULES for name, cls in vars(m).items()
           if name.endswith("Data") and isinstance(cls, type)
           and issubclass(cls, msgspec.Struct) and cls.__module__ == m.__name__]


@pytest.mark.parametrize("answer", ANSWERS, ids=lambda c: c.__name__)
def test_every_rate_and_derived_number_of_an_answer_is_an_entry(answer: type) -> None:
    fields = list(_numbers(msgspec.inspect.type_info(answer), set()))
    assert fields
    derived = {name for name, is_float in fields
               if (is_float or name.endswith("Rate")) and name not in INPUTS}
    assert {name for name in derived if entry(name) is None} == set()
    rates = {name for name in derived if name.endswith("Rate")}
    assert all(e is not None and e.change == "points" for e in map(entry, rates))


def test_seven_dashboard_answers_and_the_costs_and_deliveries_are_walked() -> None:
    """The seven, channels, deliverability, costs, realtime, api-usage, and a campaign in
    depth and side by side."""
    assert len(ANSWERS) == 14


def test_every_field_name_maps_to_an_entry() -> None:
    assert all(name in CATALOGUE or name in MEANS for name in FIELDS.values())


class TestEntries:
    def test_rates_change_in_points_the_rest_relatively(self) -> None:
        assert CATALOGUE["openRate"].change == "points"
        assert CATALOGUE["replyRate"].change == "points"
        assert MEANS["avgOpenRate"].change == "points"
        assert CATALOGUE["totalCost"].change == "relative"
        assert CATALOGUE["providerScore"].change == "relative"
        assert CATALOGUE["p95DeliveryMs"].change == "relative"

    def test_compare_reads_the_rule_from_the_catalogue(self) -> None:
        now = {"avgReplyRate": 30.5, "avgOpenRate": 20.0, "totalCost": 3.0,
               "totalCampaigns": 4, "avgCostPerMessage": None}
        before = {"avgReplyRate": 20.25, "avgOpenRate": 10.0, "totalCost": 2.0,
                  "totalCampaigns": 0, "avgCostPerMessage": 0.1}
        assert changes(now, before) == {"avgReplyRate": 10.25, "avgOpenRate": 10.0,
                                        "totalCost": 50.0, "totalCampaigns": None,
                                        "avgCostPerMessage": None}

    def test_a_mean_of_rates_skips_rows_without_a_denominator(self) -> None:
        mean = MEANS["avgOpenRate"]
        assert isinstance(mean, RateMean)
        rows = [{"opened": 1, "delivered": 3}, {"opened": 0, "delivered": 0},
                {"opened": 2, "delivered": 3}]
        assert mean.value(rows) == 50.0
        assert mean.value([]) == 0.0

    def test_the_provider_score_from_unrounded_inputs(self) -> None:
        row = {"sent": 3, "delivered": 2, "failed": 1, "duration_sum": 3000, "samples": 2,
               "cost": Decimal("0.003"), "costed": 3}
        score = CATALOGUE["providerScore"]
        # 0.4 x 200/3 + 0.3 x 98.5 + 0.2 x 90 + 0.1 x 200/3
        assert score.order_value(row) == Fraction(80, 3) + Fraction(591, 20) + 18 + Fraction(
            20, 3)
        assert score.value(row) == 80.88

    def test_the_budget_numbers(self) -> None:
        inputs = {"cost": Decimal("9"), "monthly_budget": Decimal("10"),
                  "elapsed": Fraction(1, 2)}
        assert CATALOGUE["percentUsed"].value(inputs) == 90.0
        assert CATALOGUE["projectedSpend"].value(inputs) == 18.0
        assert CATALOGUE["budgetStatus"].value(inputs) == "90%"
        assert CATALOGUE["projectedSpend"].value({**inputs, "elapsed": Fraction(0)}) == 0.0
