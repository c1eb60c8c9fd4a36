"""Prometheus metrics for ingest and the API, on one registry per process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    """Every counter and gauge chanalytics exposes at `/metrics`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
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
        self.last_event_time = Gauge(
            "chanalytics_last_event_timestamp_seconds", "occurred_at of the newest stored event",
            registry=r)
        self.freshness = Gauge(
            "chanalytics_ingest_freshness_seconds", "Seconds since the newest stored event",
            registry=r)
        self.rollup_drift = Counter(
            "chanalytics_rollup_drift",
            "Periods (tenant and hour, or day) in which a derived table disagrees with the raw "
            "table", ["table"], registry=r)
        self.api_seconds = Histogram(
            "chanalytics_api_request_seconds", "API latency per endpoint", ["endpoint", "status"],
            registry=r, buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))

    def render(self) -> bytes:
        return generate_latest(self.registry)
