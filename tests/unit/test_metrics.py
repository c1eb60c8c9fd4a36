"""What `/metrics` says: store time apart from event time, and only what a process runs."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client.parser import text_string_to_metric_families

from chanalytics.app import create_app
from chanalytics.config import load_settings
from chanalytics.ingest.drift import TABLES
from chanalytics.ingest.jobs import FIRST_DRIFT_CHECK_SECONDS, build_scheduler
from chanalytics.metrics import ApiMetrics, Metrics


def samples(metrics: ApiMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(metrics.render().decode())
            for s in family.samples}


def value(metrics: ApiMetrics, name: str, **labels: str) -> float:
    return samples(metrics)[(name, tuple(sorted(labels.items())))]


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class TestStoreTimeAndEventTime:
    def test_freshness_follows_commits_not_event_timestamps(self) -> None:
        """A batch holding an event dated 2031 and one dated 2019 leaves freshness at the
        seconds since the commit; the event-time extremes are reported apart."""
        clock = Clock(1_800_000_000.0)
        metrics = Metrics(clock)
        clock.now += 30
        assert value(metrics, "chanalytics_ingest_freshness_seconds") == 30  # since start
        assert value(metrics, "chanalytics_ingest_last_commit_timestamp_seconds") == 0
        in_2031 = datetime(2031, 1, 1, tzinfo=UTC).timestamp()
        in_2019 = datetime(2019, 1, 1, tzinfo=UTC).timestamp()
        metrics.batch_stored(in_2019, in_2031)
        clock.now += 4
        assert value(metrics, "chanalytics_ingest_freshness_seconds") == 4
        assert value(metrics, "chanalytics_ingest_last_commit_timestamp_seconds") == clock.now - 4
        assert value(metrics, "chanalytics_ingest_event_time_newest_seconds") == in_2031
        assert value(metrics, "chanalytics_ingest_event_time_oldest_seconds") == in_2019

    def test_event_time_is_the_last_batchs_not_a_lifetime_maximum(self) -> None:
        """One event dated in the future moves the newest event time only until the next
        batch; the old gauge that kept it for good is gone."""
        metrics = Metrics()
        metrics.batch_stored(1.0, datetime(2031, 1, 1, tzinfo=UTC).timestamp())
        metrics.batch_stored(100.0, 200.0)
        assert value(metrics, "chanalytics_ingest_event_time_newest_seconds") == 200
        assert not any(name == "chanalytics_last_event_timestamp_seconds"
                       for name, _ in samples(metrics))


class TestRoles:
    def test_serve_exports_no_ingest_metrics(self) -> None:
        """The API alone (`chanalytics serve`) shows API latency and no ingest counter."""
        app = create_app(load_settings({}, api_keys="tok=t"))
        names = {name for name, _ in samples(app.state.services.metrics)}
        assert not any(n.startswith(("chanalytics_events_", "chanalytics_ingest_",
                                     "chanalytics_batches", "chanalytics_rollup_"))
                       for n in names), names
        assert not isinstance(app.state.services.metrics, Metrics)

    def test_an_ingest_process_exports_both(self) -> None:
        """`run` passes its ingest metrics to the API: one registry with both."""
        metrics = Metrics()
        app = create_app(load_settings({}, api_keys="tok=t"), metrics=metrics)
        assert app.state.services.metrics is metrics
        assert "chanalytics_ingest_freshness_seconds" in {n for n, _ in samples(metrics)}


class TestDriftCounter:
    def test_every_table_shows_zero_drift_from_the_start(self) -> None:
        """An ingest process's drift counter has a 0 sample per checked table before the
        first check, and the first check runs a minute after start, not an hour."""
        metrics = Metrics()
        scheduler = build_scheduler(None, metrics, None, "s", "c")  # type: ignore[arg-type]
        for table in TABLES:
            assert value(metrics, "chanalytics_rollup_drift_total", table=table.name) == 0
        drift_job = next(j for j in scheduler.get_jobs() if j.name == "check_rollups")
        wait = (drift_job.next_run_time - datetime.now(UTC)).total_seconds()
        assert 0 < wait <= FIRST_DRIFT_CHECK_SECONDS
