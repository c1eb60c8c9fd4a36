"""The SQL of the query services: `.sql` files beside this module, loaded by name.

Values are always bound server-side (`{name:Type}`). The one piece of SQL chosen in
code is the local-bucket expression of a time series (`LocalBuckets.sql`: a constant
fragment picked by granularity and window shape, never request text), put where a file
says `__LOCAL_BUCKET__`.
"""

from __future__ import annotations

import functools
from importlib import resources

from chanalytics.query.buckets import LocalBuckets

LOCAL_BUCKET = "__LOCAL_BUCKET__"


@functools.cache
def _text(name: str) -> str:
    return resources.files("chanalytics.query").joinpath("sql", f"{name}.sql").read_text()


@functools.cache
def _with_bucket(name: str, fragment: str) -> str:
    return _text(name).replace(LOCAL_BUCKET, fragment)


def statement(name: str, buckets: LocalBuckets | None = None) -> str:
    """The SQL of `query/sql/<name>.sql`, grouping by `buckets` if it has a local bucket."""
    text = _text(name)
    if LOCAL_BUCKET in text:
        if buckets is None:
            raise ValueError(f"{name}.sql groups by local bucket: buckets are required")
        return _with_bucket(name, buckets.sql)
    if buckets is not None:
        raise ValueError(f"{name}.sql has no local bucket")
    return text
