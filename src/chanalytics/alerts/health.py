"""Ingest health, read by the evaluator for its service-wide alerts (tenant `SYSTEM`,
published on `analytics.alerts.system`).

The evaluator may run in an API process apart from ingest (a ClickHouse server), so it
reads only what every process can: the consumer's lag from NATS, the newest inserts from
ClickHouse (`tenant_freshness` and the read models, as `/metrics` reads them), and the
drift checks' kept results (`ingest/drift_checks.py`). Three conditions, each its own
episode (`detectors.py`): `ingest:lag`, `ingest:freshness` and `ingest:drift`.
"""

from __future__ import annotations

from datetime import datetime

from chanalytics.alerts.detectors import (
    drift_observation,
    freshness_observation,
    ingest_observation,
)
from chanalytics.alerts.lifecycle import Observation
from chanalytics.clickhouse.storage import Storage
from chanalytics.ingest.drift_checks import latest_check
from chanalytics.ingest.readmodels import newest_inserts, newest_stored
from chanalytics.query.presets.realtime import PipelineLag


class IngestHealth:
    """What the ingest-health conditions are judged on. Without `lag` (no NATS) lag and
    freshness cannot be told and are not judged; drift is."""

    def __init__(self, storage: Storage, lag: PipelineLag | None, limit: float) -> None:
        self.storage, self.lag, self.limit = storage, lag, limit
        self._seen: dict[str, datetime] = {}  # each read model's newest insert found

    async def observe(self, now: datetime) -> list[Observation]:
        out = []
        if self.lag is not None:
            lag = await self.lag()
            models = await newest_inserts(self.storage, self._seen)
            newest = [at for at in (*models.values(), await newest_stored(self.storage))
                      if at is not None]
            out += [ingest_observation(lag, self.limit),
                    freshness_observation(now, max(newest, default=None), models, lag,
                                          self.limit)]
        out.append(drift_observation(await latest_check(self.storage)))
        return out
