"""How much of a long case list the server pass runs.

The server pass (`CHANALYTICS_TEST_CLICKHOUSE=server`) runs the same engine behind HTTP:
it checks the transport, the settings and the client, not the SQL a second time, so a
sample of each contract's cases is enough there; the embedded pass runs them all.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

SERVER_MODE = os.environ.get("CHANALYTICS_TEST_CLICKHOUSE") == "server"


def sample(cases: Sequence[T], every: int) -> list[T]:
    """All `cases` on the embedded engine; every `every`-th in the server pass."""
    return list(cases) if not SERVER_MODE else list(cases)[::every]
