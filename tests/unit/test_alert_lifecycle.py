"""The alert lifecycle as a pure function: an episode fires once, is announced again
after 24 h, resolves once; a condition that cannot be judged changes nothing; ids are
the same whoever computes them. The evaluator's grouping: one query per window for
every tenant. And the ingest-health conditions of freshness and drift."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chanalytics.alerts.detectors import drift_observation, freshness_observation
from chanalytics.alerts.evaluate import rule_queries
from chanalytics.alerts.lifecycle import Observation, changes, delivery_id, outgoing
from chanalytics.alerts.rules import Rule
from chanalytics.ingest.drift_checks import DriftCheck
from chanalytics.query.compiler import compile_statement
from chanalytics.query.planner import plan

NOW = datetime(2026, 5, 4, 12, tzinfo=UTC)


def _seen(holds: bool | None, tenant: str = "t1") -> Observation:
    return Observation(tenant_id=tenant, kind="rule", condition="r1", rule_id="r1",
                       holds=holds, message="m", value=1.0, threshold=2.0)


class TestLifecycle:
    def test_fires_once_and_resolves_once(self) -> None:
        """Holding fires; holding again changes nothing; not holding resolves it."""
        (fired,) = changes([_seen(True)], {}, NOW)
        assert (fired.state, fired.started_at, fired.announcements) == ("firing", NOW, 1)
        firing = {("t1", "r1"): fired}
        assert changes([_seen(True)], firing, NOW + timedelta(minutes=1)) == []
        (resolved,) = changes([_seen(False)], firing, NOW + timedelta(minutes=2))
        assert (resolved.id, resolved.state) == (fired.id, "resolved")
        assert resolved.resolved_at == NOW + timedelta(minutes=2)
        assert changes([_seen(False)], {}, NOW) == []

    def test_unjudged_changes_nothing(self) -> None:
        """A condition that could not be evaluated neither fires nor resolves."""
        (fired,) = changes([_seen(True)], {}, NOW)
        assert changes([_seen(None)], {}, NOW) == []
        assert changes([_seen(None)], {("t1", "r1"): fired}, NOW + timedelta(hours=2)) == []

    def test_announced_again_every_24_hours(self) -> None:
        (fired,) = changes([_seen(True)], {}, NOW)
        firing = {("t1", "r1"): fired}
        assert changes([_seen(True)], firing, NOW + timedelta(hours=23, minutes=59)) == []
        (again,) = changes([_seen(True)], firing, NOW + timedelta(hours=24))
        assert (again.id, again.announcements) == (fired.id, 2)
        assert delivery_id(again) != delivery_id(fired)

    def test_ids_are_deterministic_and_per_tenant(self) -> None:
        """Two processes computing the same change get the same alert and delivery ids;
        another tenant's same condition gets others."""
        a, b = changes([_seen(True)], {}, NOW), changes([_seen(True)], {}, NOW)
        assert outgoing(a[0], NOW).delivery_id == outgoing(b[0], NOW).delivery_id
        (other,) = changes([_seen(True, "t2")], {}, NOW)
        assert other.id != a[0].id

    def test_a_removed_condition_resolves(self) -> None:
        (fired,) = changes([_seen(True)], {}, NOW)
        (gone,) = changes([], {}, NOW, absent_resolve=[fired])
        assert gone.state == "resolved"


def _rule(rule_id: str, metric: str, minutes: int, **more: object) -> Rule:
    return Rule(id=rule_id, name=rule_id, metric=metric, operator="<", threshold=1.0,
                window_minutes=minutes, **more)  # type: ignore[arg-type]


class TestGrouping:
    def test_one_query_per_window_for_every_tenant(self) -> None:
        """Rules of 3 tenants over two windows: two queries, each of all their tenants,
        with the rates' denominators, grouped by tenant (and channel where asked)."""
        rules = [(f"t{n}", _rule(f"r{n}{m}", metric, minutes, **extra))
                 for n in range(3) for m, (metric, minutes, extra) in enumerate([
                     ("deliveryRate", 60, {"channel": "email"}), ("failed", 60, {}),
                     ("openRate", 5, {})])]
        queries = rule_queries(rules, NOW)
        assert sorted(queries) == [5, 60]
        hour = queries[60]
        assert hour.tenants == ("t0", "t1", "t2")
        assert set(hour.measures) == {"delivered", "sent", "failed"}
        assert set(hour.groupings) == {("tenant",), ("tenant", "channel")}
        assert queries[5].window.start == NOW - timedelta(minutes=5)

    def test_the_statement_reads_the_listed_tenants_only(self) -> None:
        query = rule_queries([("t1", _rule("a", "sent", 60)), ("t2", _rule("b", "sent", 60))],
                             NOW)[60]
        planned = plan(query)
        for statement in planned.statements:
            compiled = compile_statement(statement, planned)
            assert "tenant_id IN {tenants:Array(String)}" in compiled.sql
            assert "{tenant:String}" not in compiled.sql
            assert compiled.params["tenants"] == ["t1", "t2"]


class TestFreshness:
    """`ingest:freshness` holds only while events wait *and* nothing is stored."""

    LIMIT = 300.0

    def _holds(self, stored_ago: float | None, lag: float | None) -> bool | None:
        newest = None if stored_ago is None else NOW - timedelta(seconds=stored_ago)
        return freshness_observation(NOW, newest, {}, lag, self.LIMIT).holds

    def test_a_stall_fires(self) -> None:
        """Nothing stored for 10 minutes while an event waited as long: it holds."""
        assert self._holds(600, 600) is True
        assert self._holds(None, 600) is True  # nothing ever stored

    def test_quiet_burst_and_slow_are_not_stalls(self) -> None:
        """No traffic (lag 0), a burst after a quiet hour (a fresh wait), and a lag while
        batches are still stored are not; without a lag reading it is not judged."""
        assert self._holds(3600, 0.0) is False
        assert self._holds(3600, 2.0) is False
        assert self._holds(5, 900) is False
        assert self._holds(3600, None) is None


class TestDrift:
    def test_the_latest_check_decides(self) -> None:
        """Findings hold (their count the value, their tables named); a clean check does
        not; before any check nothing is judged."""
        at = NOW - timedelta(minutes=5)
        found = drift_observation(DriftCheck(checked_at=at, drifting=2,
                                             tables=["event_ids"]))
        assert (found.holds, found.value, found.condition) == (True, 2.0, "ingest:drift")
        assert "event_ids" in found.message
        clean = drift_observation(DriftCheck(checked_at=at, drifting=0, tables=[]))
        assert clean.holds is False
        assert drift_observation(None).holds is None
