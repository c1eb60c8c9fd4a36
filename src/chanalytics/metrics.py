"""Prometheus metrics, on one registry per process, holding only what the process does.

`ApiMetrics` is what every HTTP process exports (`serve`, and the probes of `ingest`);
`Metrics` adds ingest's, for the processes that run ingest (`run`, `ingest`). A
`serve` process therefore shows no ingest counters: a 0 there would read as "ingest
stored nothing" when it is simply not this process's job.

Two clocks are kept apart: *store time* (when a batch was committed, and how long the
oldest message not yet stored has waited) says whether ingest keeps up; *event time*
(an event's own `timestamp`, whatever the publisher wrote: years back, or in 2031)
says only what the last batch held, and never feeds freshness.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class ApiMetrics:
    """API latency per endpoint and status: every process that answers HTTP has it."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.api_seconds = Histogram(
            "chanalytics_api_request_seconds", "API latency per endpoint", ["endpoint", "status"],
            registry=self.registry, buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
        self.engine_reads = Counter(
            "chanalytics_engine_reads", "The engine's reads by where their answer came from: "
            "kept (reused), shared (a running read's), read (ClickHouse), fresh (ClickHouse, "
            "while the tenant's data was being written)", ["source"], registry=self.registry)
        self.usage_recorded = Counter(
            "chanalytics_api_usage_recorded", "Authenticated analytics requests recorded for "
            "GET /api-usage", registry=self.registry)
        self.usage_dropped = Counter(
            "chanalytics_api_usage_dropped", "Recorded requests dropped while storage refused "
            "them (api/usage.py MAX_PENDING)", registry=self.registry)
        # The alert evaluator (alerts/service.py), in the one API process holding its lease.
        self.alert_round_seconds = Histogram(
            "chanalytics_alert_round_seconds", "One evaluation round of every alert rule and "
            "detector", registry=self.registry, buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
        # One gauge per ingest-health condition (alerts/health.py), keyed by its condition.
        self.ingest_alerts_firing = {
            "ingest:lag": Gauge(
                "chanalytics_alert_ingest_lag_firing", "1 while the ingest-lag alert fires "
                "(consumer lag above CHANALYTICS_ALERT_LAG_SECONDS)", registry=self.registry),
            "ingest:freshness": Gauge(
                "chanalytics_alert_ingest_freshness_firing", "1 while the ingest-freshness "
                "alert fires (events waiting and nothing stored for longer than "
                "CHANALYTICS_ALERT_LAG_SECONDS)", registry=self.registry),
            "ingest:drift": Gauge(
                "chanalytics_alert_ingest_drift_firing", "1 while the rollup-drift alert "
                "fires (the latest drift check found a derived table disagreeing with the "
                "raw table)", registry=self.registry),
        }

    def render(self) -> bytes:
        return generate_latest(self.registry)


class Metrics(ApiMetrics):
    """Every counter and gauge of a process that runs ingest, plus the API's."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        r = self.registry
        self.clock = clock
        self.events_ingested = Counter(
            "chanalytics_events_ingested", "Events stored in analytics_events", ["event_type"],
            registry=r)
        self.duplicates_skipped = Counter(
            "chanalytics_duplicates_skipped", "Events already stored, acknowledged without insert",
            registry=r)
        self.events_rejected = Counter(
            "chanalytics_events_rejected", "Invalid events sent to the dead-letter stream",
            ["reason"], registry=r)
        self.batches = Counter("chanalytics_batches", "Batches inserted", registry=r)
        self.insert_errors = Counter(
            "chanalytics_insert_errors", "Failed insert attempts (retried)", registry=r)
        self.insert_seconds = Histogram(
            "chanalytics_insert_seconds", "Batch insert latency (lookup + insert)", registry=r,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
        self.redeliveries = Counter(
            "chanalytics_redeliveries", "Messages delivered more than once", registry=r)
        self.consumer_pending = Gauge(
            "chanalytics_consumer_pending", "Messages in the stream not yet delivered", registry=r)
        self.consumer_ack_pending = Gauge(
            "chanalytics_consumer_ack_pending", "Messages delivered but not yet acknowledged",
            registry=r)
        self.lag = Gauge(
            "chanalytics_ingest_lag_seconds",
            "Age of the oldest message in the stream not yet stored (0 when ingest has caught "
            "up), from the consumer's ack floor every 5 s", registry=r)
        # Store time. Before the first batch, "since" counts from the start of the process:
        # an ingest that never stores anything must not look fresh.
        self.last_commit = Gauge(
            "chanalytics_ingest_last_commit_timestamp_seconds",
            "Unix time this process last stored a batch (0 before its first)", registry=r)
        self._stored_at = clock()
        self.freshness = Gauge(
            "chanalytics_ingest_freshness_seconds",
            "Seconds since this process last stored a batch (since it started, before its "
            "first); grows while no events arrive, so read it with chanalytics_ingest_lag_seconds",
            registry=r)
        self.freshness.set_function(lambda: max(0.0, self.clock() - self._stored_at))
        # Event time, for what the data says about itself; never used for freshness.
        self.event_time_newest = Gauge(
            "chanalytics_ingest_event_time_newest_seconds",
            "Largest event timestamp (occurred_at) in the last stored batch, as the publisher "
            "wrote it", registry=r)
        self.event_time_oldest = Gauge(
            "chanalytics_ingest_event_time_oldest_seconds",
            "Smallest event timestamp (occurred_at) in the last stored batch, as the "
            "publisher wrote it", registry=r)
        self.rollup_drift = Counter(
            "chanalytics_rollup_drift",
            "Periods (tenant and hour, or day) in which a derived table disagrees with the raw "
            "table", ["table"], registry=r)
        self.rollup_checked = Gauge(
            "chanalytics_rollup_check_timestamp_seconds",
            "Unix time the drift check last completed (0 before its first)", registry=r)

        # Read models kept by views refresh inside the statement that stores a batch in
        # analytics_events (the writer times it); what they hold is read back from them.
        self.read_model_refresh = Histogram(
            "chanalytics_read_model_refresh_seconds",
            "Duration of the statement that stored a batch holding rows for a read model "
            "and refreshed it (and every other view) on the way: from the batch's "
            "ingested_at to its rows being in the model, retries included",
            ["table"], registry=r, buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
                                            5, 10))
        self.read_model_stored = Gauge(
            "chanalytics_read_model_stored_timestamp_seconds",
            "Unix time of the newest insert a read model holds (its stored_at), read every "
            "30 s (0 before the first reading)", ["table"], registry=r)
        self.read_model_staleness = Gauge(
            "chanalytics_read_model_staleness_seconds",
            "Seconds since the newest insert a read model holds (since the process started, "
            "before the first reading); grows while no events arrive, as freshness does",
            ["table"], registry=r)
        self._read_model_at: dict[str, float] = {}

    def read_model_seen(self, table: str, stored_at: float | None) -> None:
        """The newest insert `table` holds (None: none yet); its staleness counts from it."""
        first = table not in self._read_model_at
        stored = self.read_model_stored.labels(table=table)  # 0 until one is found
        if stored_at is not None:
            self._read_model_at[table] = stored_at
            stored.set(stored_at)
        elif first:
            self._read_model_at[table] = self.clock()
        if first:
            self.read_model_staleness.labels(table=table).set_function(
                lambda: max(0.0, self.clock() - self._read_model_at[table]))
            self.read_model_refresh.labels(table=table)  # shown, empty, before a batch

    def batch_stored(self, oldest_event: float, newest_event: float) -> None:
        """A batch was committed now, holding events of these timestamps."""
        self._stored_at = self.clock()
        self.last_commit.set(self._stored_at)
        self.event_time_oldest.set(oldest_event)
        self.event_time_newest.set(newest_event)

    def expose_drift(self, tables: list[str]) -> None:
        """Show `rollup_drift` at 0 for every table checked: a labelled counter has no
        sample until a label is used, which reads as "not measured", not "no drift"."""
        for table in tables:
            self.rollup_drift.labels(table=table)
