"""The engine: plan a query, run its statements at once, and put their rows together."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import structlog

from chanalytics.query.compiler import Compiled, compile_statement
from chanalytics.query.dimensions import DIMENSIONS
from chanalytics.query.measures import MEASURES, Measure, Value
from chanalytics.query.model import Grouping, Key, Query, Result, Row
from chanalytics.query.planner import Plan, plan
from chanalytics.query.tables import TABLES, Grain, Table
from chanalytics.storage import Storage

log = structlog.get_logger(__name__)


def zero(measure: Measure) -> Any:
    """A measure's value where nothing was counted."""
    match measure.value:
        case Value.COST:
            return Decimal(0)
        case Value.DURATIONS:
            return None
        case _:
            return 0


def measure_value(measure: Measure, value: Any) -> Any:
    match measure.value:
        case Value.COST:
            return Decimal(value)
        case Value.DURATIONS:  # no samples: an empty array
            return None if not value or math.isnan(value[0]) else tuple(value)
        case _:
            return int(value)


class Engine:
    """Answers `Query`s from the catalogue's tables through one storage."""

    def __init__(self, storage: Storage, tables: Sequence[Table] = TABLES) -> None:
        self.storage = storage
        self.tables = tuple(tables)
        # Only the raw table (the benches' and tests' twin): read models too read it.
        self.raw_only = all(t.grain is Grain.RAW for t in self.tables)

    async def run(self, query: Query) -> Result:
        started = time.perf_counter()
        planned = plan(query, self.tables)
        compiled = [compile_statement(s, planned) for s in planned.statements]
        answers = await asyncio.gather(*(self.storage.query(c.sql, c.params) for c in compiled))
        result = _assemble(planned, compiled, answers)
        log.debug("query.engine.ran", tenant_id=query.tenant_id, statements=len(compiled),
                  measures=len(query.measures), duration_ms=round(
                      (time.perf_counter() - started) * 1000, 2))
        return result


def _assemble(planned: Plan, compiled: Sequence[Compiled],
              answers: Sequence[Sequence[tuple[Any, ...]]]) -> Result:
    query = planned.query
    groups: dict[Grouping, dict[Key, dict[str, Any]]] = {g: {} for g in query.groupings}
    for statement, shape, rows in zip(planned.statements, compiled, answers, strict=True):
        offset = 0 if shape.bits is None else 1
        width = len(shape.dimensions)
        for row in rows:
            grouping = query.groupings[0] if shape.bits is None else shape.bits[row[0]]
            found = dict(zip(shape.dimensions, row[offset:offset + width], strict=True))
            key = tuple(_key_value(d, found[d]) for d in grouping)
            values = groups[grouping].setdefault(key, {})
            for measure, value in zip(statement.measures, row[offset + width:], strict=True):
                values[measure.name] = measure_value(measure, value)
    zeros = {name: zero(MEASURES[name]) for name in query.measures}
    return Result(
        groups={g: [Row(key, {**zeros, **values}) for key, values in rows.items()]
                for g, rows in groups.items()},
        buckets=planned.buckets, zeros=zeros)


def _key_value(dimension: str, value: Any) -> Any:
    """A dimension's value as answered: None where it is the dimension's empty value."""
    empty = DIMENSIONS[dimension].empty
    return None if empty is not None and value == empty else value


