"""The SQL of the query services: `.sql` files beside this module, loaded by name.

Values are always bound server-side (`{name:Type}`). Two things are chosen in code, both
constant text picked by the window's shape, never request text: the local-bucket
expression of a time series (`LocalBuckets.sql`), put where a file says
`__LOCAL_BUCKET__`; and whether the branch reading the window's unaligned edges from the
raw table (between `-- <raw-edges>` and `-- </raw-edges>`) stays in. With no such edge
the branch reads nothing, yet costs ~3 ms per statement to plan and run.
"""

from __future__ import annotations

import functools
import re
from importlib import resources

from chanalytics.query.buckets import LocalBuckets

LOCAL_BUCKET = "__LOCAL_BUCKET__"
_RAW_EDGES = re.compile(r"\n[ \t]*-- <raw-edges>.*?-- </raw-edges>", re.DOTALL)


@functools.cache
def _text(name: str) -> str:
    return resources.files("chanalytics.query").joinpath("sql", f"{name}.sql").read_text()


@functools.cache
def _shaped(name: str, fragment: str, raw_edges: bool) -> str:
    text = _text(name).replace(LOCAL_BUCKET, fragment)
    return text if raw_edges else _RAW_EDGES.sub("", text)


def statement(name: str, buckets: LocalBuckets | None = None, *, raw_edges: bool = True) -> str:
    """The SQL of `query/sql/<name>.sql`, grouping by `buckets` if it has a local bucket,
    without its raw-edge branch unless `raw_edges`."""
    text = _text(name)
    if LOCAL_BUCKET in text:
        if buckets is None:
            raise ValueError(f"{name}.sql groups by local bucket: buckets are required")
        return _shaped(name, buckets.sql, raw_edges)
    if buckets is not None:
        raise ValueError(f"{name}.sql has no local bucket")
    return _shaped(name, "", raw_edges)
