"""The SQL of the query services: `.sql` files beside this module, loaded by name.

Values are always bound server-side (`{name:Type}`). The one piece of SQL chosen in
code is the local-bucket expression of a time series, picked from `BUCKET_SQL` by
granularity (an enum, never request text) and put where a file says `__LOCAL_BUCKET__`.
"""

from __future__ import annotations

import functools
from importlib import resources

from chanalytics.query.timerange import BUCKET_SQL, Granularity

LOCAL_BUCKET = "__LOCAL_BUCKET__"


@functools.cache
def _text(name: str) -> str:
    return resources.files("chanalytics.query").joinpath("sql", f"{name}.sql").read_text()


@functools.cache
def statement(name: str, granularity: Granularity | None = None) -> str:
    """The SQL of `query/sql/<name>.sql`, with its local bucket for `granularity` if it has one."""
    text = _text(name)
    if LOCAL_BUCKET in text:
        if granularity is None:
            raise ValueError(f"{name}.sql groups by local bucket: a granularity is required")
        return text.replace(LOCAL_BUCKET, BUCKET_SQL[granularity])
    if granularity is not None:
        raise ValueError(f"{name}.sql has no local bucket")
    return text
