"""The SQL of the query services: `.sql` files beside this module, loaded by name.

Values are always bound server-side (`{name:Type}`). Two things are chosen in code, both
constant text picked by the request's shape, never request text:

- the local-bucket expression of a time series (`LocalBuckets.sql`), put where a file
  says `__LOCAL_BUCKET__`, and the chain levels of a key row (`chains.LEVELS_SQL`), put
  where it says `__CHAIN_LEVELS__`;
- which optional branches stay in. A branch is marked `-- <name>` … `-- </name>` and is
  left out when the bound parameters say it has nothing to read (`BRANCHES`). An empty
  branch still costs ~3 ms per statement to plan and run: a MergeTree read through chDB
  has that fixed cost whatever it finds. Below a `-- <union>` line every branch opens
  with `UNION ALL`; the first one kept loses it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from importlib import resources
from types import MappingProxyType
from typing import Any

from chanalytics import chains
from chanalytics.query.bounds import has_partial_days, has_raw_edges
from chanalytics.query.buckets import LocalBuckets

LOCAL_BUCKET = "__LOCAL_BUCKET__"

# Branch name -> whether the request's bound parameters give it anything to read.
BRANCHES: Mapping[str, Callable[[Mapping[str, Any]], bool]] = MappingProxyType({
    # the window's unaligned head and tail, from the raw table
    "raw-edges": has_raw_edges,
    # the 15-minute interior outside the whole UTC days that a daily rollup answers
    "partial-days": has_partial_days,
    # the series of the one campaign or workflow a filter asks for
    "one-campaign": lambda params: bool(params["campaign_id"]),
    "one-workflow": lambda params: bool(params["workflow_id"]),
    # the whole UTC days a distinct count reads from the daily key chains (in a plainer
    # form when no level has a series), the whole buckets outside them it reads from the
    # 15-minute ones, and the whole days again by 15 minutes for a series not read by day
    "daily-totals": lambda params: bool(
        not params["series_level"] and params["daily_start"] < params["daily_end"]),
    "daily-chains": lambda params: bool(
        params["series_level"] and params["daily_start"] < params["daily_end"]),
    "chain-edges": lambda params: bool(
        params["mid_start"] < params["daily_start"] or params["daily_end"] < params["mid_end"]),
    "series-buckets": lambda params: bool(
        params["series_level"] and not params["series_daily"]
        and params["daily_start"] < params["daily_end"]),
})


@functools.cache
def _text(name: str) -> str:
    text = resources.files("chanalytics.query").joinpath("sql", f"{name}.sql").read_text()
    return text.replace(chains.MACRO, chains.LEVELS_SQL)


@functools.cache
def _branch(name: str) -> re.Pattern[str]:
    return re.compile(rf"\n[ \t]*-- <{name}>.*?-- </{name}>", re.DOTALL)


# The `UNION ALL` opening the first branch kept below a `-- <union>` line.
_FIRST_UNION = re.compile(r"(-- <union>[^\n]*\n(?:[ \t]*--[^\n]*\n)*)[ \t]*UNION ALL\n")


@functools.cache
def _shaped(name: str, fragment: str, left_out: frozenset[str]) -> str:
    text = _text(name).replace(LOCAL_BUCKET, fragment)
    for branch in sorted(left_out):
        text = _branch(branch).sub("", text)
    if "-- <union>" in text:
        text, found = _FIRST_UNION.subn(r"\1", text, count=1)
        if not found:
            raise ValueError(f"{name}.sql: every branch of its union is left out")
    return text


def branches(name: str) -> frozenset[str]:
    """The optional branches `query/sql/<name>.sql` marks."""
    text = _text(name)
    return frozenset(b for b in BRANCHES if f"-- <{b}>" in text)


def statement(
    name: str, buckets: LocalBuckets | None = None, params: Mapping[str, Any] | None = None
) -> str:
    """The SQL of `query/sql/<name>.sql`, grouping by `buckets` if it has a local bucket,
    without the optional branches that `params` leave nothing to read (all of them kept
    when `params` is None)."""
    text = _text(name)
    if LOCAL_BUCKET in text:
        if buckets is None:
            raise ValueError(f"{name}.sql groups by local bucket: buckets are required")
        fragment = buckets.sql
    elif buckets is not None:
        raise ValueError(f"{name}.sql has no local bucket")
    else:
        fragment = ""
    left_out = frozenset() if params is None else frozenset(
        b for b in branches(name) if not BRANCHES[b](params))
    return _shaped(name, fragment, left_out)
