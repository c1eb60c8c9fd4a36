"""Every rule's value over its window, from as few statements as the engine can make.

Rules are not evaluated one by one: for each window length, one engine query asks for
the union of the rules' measures (and their rates' denominators) of *every* tenant with a
rule of that length (`Query.tenants`), grouped by tenant and by the channel and provider
the rules filter on (grouping sets). The planner and compiler make that one statement per
table family, so 5,000 rules of 1,000 tenants with four window lengths cost about eight
statements a round (`bench/alerts_bench.py`). Each rule then reads its tenant's row.

A rate whose denominator in the window is below the rule's `minVolume` is not evaluated
(`Reading.value` None), nor is a metric with no value (a mean without samples).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from chanalytics.alerts.rules import INGEST_LAG, Rule
from chanalytics.query.clock import TimeWindow
from chanalytics.query.engine import Engine
from chanalytics.query.model import Grouping, Query, Result
from chanalytics.query.presets.realtime import PipelineLag

_UTC = ZoneInfo("UTC")
Owned = tuple[str, Rule]  # (tenant, rule)


class Reading(msgspec.Struct, frozen=True):
    """A rule's value now, or None (not evaluated) with the reason."""

    value: float | None
    volume: int | None = None  # a rate's denominator in the window
    reason: str = ""


def grouping_of(rule: Rule) -> Grouping:
    return ("tenant", *(("channel",) if rule.channel else ()),
            *(("provider",) if rule.provider else ()))


def _key(tenant: str, rule: Rule) -> tuple[str | None, ...]:
    return (tenant, *((rule.channel,) if rule.channel else ()),
            *((rule.provider,) if rule.provider else ()))


def rule_queries(rules: Sequence[Owned], now: datetime) -> dict[int, Query]:
    """Per window length in minutes, the one query that answers every rule of it."""
    by_window: dict[int, list[Owned]] = {}
    for tenant, rule in rules:
        if rule.catalogued is not None:
            by_window.setdefault(rule.window_minutes, []).append((tenant, rule))
    queries = {}
    for minutes, owned in sorted(by_window.items()):
        measures: dict[str, None] = {}
        for _, rule in owned:
            metric = rule.catalogued
            assert metric is not None
            measures |= dict.fromkeys(metric.measures)
            if metric.denominator:
                measures[metric.denominator] = None
        tenants = tuple(sorted({t for t, _ in owned}))
        window = TimeWindow(start=now - timedelta(minutes=minutes), end=now, tz=_UTC,
                            tz_name="UTC")
        groupings = tuple(sorted({grouping_of(r) for _, r in owned}, key=len))
        queries[minutes] = Query(tenant_id=tenants[0], tenants=tenants, window=window,
                                 measures=tuple(measures), groupings=groupings)
    return queries


Rows = dict[Grouping, dict[tuple[Any, ...], Mapping[str, Any]]]


def read(result: Result, tenant: str, rule: Rule, rows: Rows | None = None) -> Reading:
    """The rule's reading from its window's result; `rows` keeps each grouping's rows by
    key across the rules that read one result (building them per rule would cost
    rules x rows)."""
    metric = rule.catalogued
    assert metric is not None
    grouping = grouping_of(rule)
    rows = {} if rows is None else rows
    if grouping not in rows:
        rows[grouping] = result.by(grouping)
    values = rows[grouping].get(_key(tenant, rule), result.zeros)
    volume = None
    if metric.denominator:
        volume = int(values[metric.denominator])
        if volume < rule.min_volume:
            return Reading(None, volume, f"{metric.denominator} {volume} < minVolume "
                                         f"{rule.min_volume}")
    value = metric.value(values)
    if value is None:
        return Reading(None, volume, "no value in the window")
    return Reading(float(value), volume)


async def evaluate(engine: Engine, rules: Sequence[Owned], now: datetime,
                   lag: PipelineLag | None = None) -> dict[tuple[str, str], Reading]:
    """(tenant, rule id) → its reading at `now`, over `[now - windowMinutes, now)`."""
    queries = rule_queries(rules, now)
    results = dict(zip(queries, await engine.run_all(*queries.values()), strict=True)) \
        if queries else {}
    readings: dict[tuple[str, str], Reading] = {}
    lag_seconds: float | None = None
    if lag is not None and any(r.metric == INGEST_LAG for _, r in rules):
        lag_seconds = await lag()
    keyed: dict[int, Rows] = {}
    for tenant, rule in rules:
        if rule.metric == INGEST_LAG:
            readings[(tenant, rule.id)] = Reading(lag_seconds, reason="" if lag_seconds
                                                  is not None else "the lag is not known")
        else:
            readings[(tenant, rule.id)] = read(results[rule.window_minutes], tenant, rule,
                                               keyed.setdefault(rule.window_minutes, {}))
    return readings
