"""The seven analytics endpoints (filled in by the API work)."""

from __future__ import annotations

from typing import Any

from litestar import Controller

from chanalytics.storage import Storage


def build_queries(storage: Storage) -> Any:
    return None


class AnalyticsController(Controller):
    path = "/api/v1/analytics"
