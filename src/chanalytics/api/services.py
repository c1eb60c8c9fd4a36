"""The API's services: one typed object on `app.state`, read only by the dependencies.

`create_app` builds it; when the app opens its own storage, the lifespan adds storage,
engine and budgets before the first request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from litestar.datastructures import State

from chanalytics.alerts.store import AlertStore
from chanalytics.api.readiness import NatsCheck
from chanalytics.api.usage import UsageRecorder
from chanalytics.budgets import BudgetStore
from chanalytics.clickhouse.storage import Storage
from chanalytics.dashboard.signin import SignInTickets
from chanalytics.deliveries import AddressPolicy
from chanalytics.live.hub import KEEPALIVE_SECONDS, LiveHub
from chanalytics.live.tickets import Tickets
from chanalytics.metrics import ApiMetrics
from chanalytics.query.cache import AnswerCache
from chanalytics.query.engine import Engine
from chanalytics.query.presets.realtime import PipelineLag
from chanalytics.reports.store import ReportStore
from chanalytics.versions import Versions

T = TypeVar("T")


@dataclass(frozen=True)
class LiveServices:
    """What the live stream needs; absent where the process has no NATS."""

    hub: LiveHub
    tickets: Tickets
    keepalive: float = KEEPALIVE_SECONDS  # tests pass less


@dataclass
class Services:
    metrics: ApiMetrics
    clock: Callable[[], datetime]  # what `timeRange` presets end at; tests pass a fixed one
    tokens: Mapping[str, str] = field(default_factory=dict)  # bearer token -> tenant
    nats_check: NatsCheck | None = None
    uses_nats: bool = False  # readiness then also checks NATS, the stream and the consumer
    storage: Storage | None = None
    engine: Engine | None = None
    budgets: BudgetStore | None = None
    # Every authenticated analytics request, written in batches (`api/usage.py`).
    usage: UsageRecorder | None = None
    live: LiveServices | None = None
    # Asks NATS how far ingest is behind (`nats/lag.py`); None where the process has no
    # JetStream context (`serve` without CHANALYTICS_NATS_URL): `/realtime` answers null.
    pipeline_lag: PipelineLag | None = None
    # The dashboard's one-time sign-in links, minted by `chanalytics run` at start.
    sign_in: SignInTickets | None = None
    # Alert rules and alerts (`alerts/store.py`); webhook targets are checked against
    # the allow-list when a rule is saved.
    alerts: AlertStore | None = None
    # Scheduled reports (`reports/`); their webhook targets are checked on save too.
    reports: ReportStore | None = None
    webhook_policy: AddressPolicy = field(default_factory=AddressPolicy)

    def open(self, storage: Storage, engine: Engine | None = None,
             versions: Versions | None = None) -> None:
        """The storage the app reads, and the engine and budgets over it; with the
        tenants' `versions`, the engine keeps answers until a tenant's data changes."""
        self.storage = storage
        reads = self.metrics.engine_reads
        cache = None if versions is None else AnswerCache(
            versions, on_read=lambda source: reads.labels(source=source).inc())
        self.engine = engine or Engine(storage, cache=cache)
        self.budgets = BudgetStore(storage, versions)
        self.alerts = AlertStore(storage)
        self.reports = ReportStore(storage)
        self.usage = UsageRecorder(storage, self.metrics, self.clock)


def services(state: State) -> Services:
    found: Services = state.services
    return found


def required(value: T | None, name: str) -> T:
    """A service that exists once storage is open (the lifespan opens it first)."""
    if value is None:
        raise RuntimeError(f"the API's {name} is not open")
    return value
