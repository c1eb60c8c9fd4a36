"""What the engine is asked and what it answers: typed, validated before planning.

A `Query` asks for some measures (`measures.py`) of one tenant's events in a window,
grouped in one or more ways (each grouping a tuple of dimension names, `()` for the
total), with filters. The planner (`planner.py`) turns it into statements, the engine
(`engine.py`) runs them and answers a `Result`: per grouping, one row per combination
of dimension values that has at least one counted event.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, Literal

import msgspec

from chanalytics.query.buckets import LocalBuckets
from chanalytics.query.clock import Granularity, TimeWindow

FilterOp = Literal["is", "isNot", "contains"]
Key = tuple[Any, ...]
Grouping = tuple[str, ...]


class Filter(msgspec.Struct, frozen=True):
    """`is` / `isNot`: the dimension's value is (not) one of `values` (None: absent);
    `contains`: its value, or the entity's latest name, holds `values[0]`, any case."""

    dimension: str
    op: FilterOp
    values: tuple[str | None, ...]


class Query(msgspec.Struct, frozen=True, kw_only=True):
    tenant_id: str
    window: TimeWindow
    measures: tuple[str, ...]
    groupings: tuple[Grouping, ...] = ((),)
    filters: tuple[Filter, ...] = ()
    # The width of the `time` dimension's buckets, when a grouping has it.
    granularity: Granularity = Granularity.DAY
    # Several tenants at once (an evaluator's question for all of them: `alerts/`):
    # their events instead of `tenant_id`'s, told apart by grouping by `tenant`. Such a
    # query is never kept (`cache.py` keeps one tenant's reads under its version).
    tenants: tuple[str, ...] = ()


class Row(msgspec.Struct, frozen=True):
    """One combination of dimension values (in the grouping's order) and its measures."""

    key: Key
    values: Mapping[str, Any]

    def __getitem__(self, measure: str) -> Any:
        return self.values[measure]


class Result(msgspec.Struct, kw_only=True):
    """Per grouping, its rows; `buckets` are the starts of the `time` dimension's buckets
    (for zero-filled series), when the query groups by time."""

    groups: dict[Grouping, list[Row]]
    buckets: LocalBuckets | None = None
    zeros: Mapping[str, Any] = msgspec.field(default_factory=dict)

    def rows(self, grouping: Grouping) -> list[Row]:
        return self.groups[grouping]

    def by(self, grouping: Grouping) -> dict[Key, Mapping[str, Any]]:
        """The grouping's rows keyed by their dimension values."""
        return {row.key: row.values for row in self.groups[grouping]}

    def by_one(self, dimension: str) -> dict[Any, Mapping[str, Any]]:
        """The rows of the one-dimension grouping `(dimension,)`, keyed by its value."""
        return {row.key[0]: row.values for row in self.groups[(dimension,)]}

    def total(self) -> Mapping[str, Any]:
        """The measures over everything the query counts (the `()` grouping)."""
        rows = self.groups[()]
        return rows[0].values if rows else self.zeros

    def series(self) -> Iterator[tuple[datetime, Mapping[str, Any]]]:
        """Every bucket of the `(time,)` grouping in order, zero-filled."""
        if self.buckets is None:
            raise ValueError("the query has no time dimension")
        found = self.by_one("time")
        for start in self.buckets.starts:
            yield start, found.get(int(start.timestamp()), self.zeros)
