"""What handlers receive through `Provide`: the services, the tenant, the window.

Only these dependencies (and `auth.authenticate`) read `app.state` (its one `Services`
object, `api/services.py`); `SERVICES` is
registered once, on the app (`create_app`, `create_operations_app`), and a handler names
what it needs as a typed parameter.

One window dependency per default range parses `timeRange`, `startDate`, `endDate` and
`timezone` (every bad value a BadParameter naming its parameter, before any query runs);
handlers only map the rest of their parameters.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from functools import partial
from types import MappingProxyType

from litestar.datastructures import State
from litestar.di import NamedDependency, Provide

from chanalytics.alerts.store import AlertStore
from chanalytics.api.auth import AUTH
from chanalytics.api.parameters import (
    EndDate,
    StartDate,
    TimeRange1d,
    TimeRange7d,
    TimeRange30d,
    TimeRange90d,
    Timezone,
)
from chanalytics.api.readiness import readiness
from chanalytics.api.services import LiveServices, required, services
from chanalytics.api.usage import UsageRecorder
from chanalytics.budgets import BudgetStore
from chanalytics.deliveries import AddressPolicy
from chanalytics.metrics import ApiMetrics
from chanalytics.query.clock import TimeWindow
from chanalytics.query.engine import Engine
from chanalytics.query.presets.realtime import PipelineLag
from chanalytics.query.timerange import parse_window
from chanalytics.reports.store import ReportStore

Readiness = Callable[[], Awaitable[dict[str, bool]]]


def provide_engine(state: State) -> Engine:
    return required(services(state).engine, "engine")


def provide_budgets(state: State) -> BudgetStore:
    return required(services(state).budgets, "budgets")


def provide_alerts(state: State) -> AlertStore:
    return required(services(state).alerts, "alerts")


def provide_reports(state: State) -> ReportStore:
    return required(services(state).reports, "report store")


def provide_webhook_policy(state: State) -> AddressPolicy:
    return services(state).webhook_policy


def provide_usage(state: State) -> UsageRecorder:
    return required(services(state).usage, "API usage recorder")


def provide_live(state: State) -> LiveServices | None:
    """The live stream's parts, or None where this process has no NATS (503)."""
    return services(state).live


def provide_readiness(state: State) -> Readiness:
    """The process's readiness checks (storage, and NATS where the process uses it)."""
    found = services(state)
    return partial(readiness, required(found.storage, "storage"), found.nats_check,
                   found.uses_nats)


def provide_metrics(state: State) -> ApiMetrics:
    return services(state).metrics


def provide_pipeline_lag(state: State) -> PipelineLag | None:
    """How far ingest is behind, asked of NATS; None when this process cannot ask."""
    return services(state).pipeline_lag


def provide_now(state: State) -> datetime:
    """Now, from the app's clock: what `timeRange` presets and budgets' months end at."""
    return services(state).clock()


def _window(now: datetime, default: str, time_range: str | None, start_date: str | None,
            end_date: str | None, timezone: str | None) -> TimeWindow:
    return parse_window(time_range=time_range, start_date=start_date, end_date=end_date,
                        timezone=timezone, default_range=default, now=now)


# One per default range: the parameters are the same, their documented default is not.
def window_1d(now: NamedDependency[datetime], time_range: TimeRange1d = None,
              start_date: StartDate = None, end_date: EndDate = None,
              timezone: Timezone = None) -> TimeWindow:
    return _window(now, "1d", time_range, start_date, end_date, timezone)


def window_7d(now: NamedDependency[datetime], time_range: TimeRange7d = None,
              start_date: StartDate = None, end_date: EndDate = None,
              timezone: Timezone = None) -> TimeWindow:
    return _window(now, "7d", time_range, start_date, end_date, timezone)


def window_30d(now: NamedDependency[datetime], time_range: TimeRange30d = None,
               start_date: StartDate = None, end_date: EndDate = None,
               timezone: Timezone = None) -> TimeWindow:
    return _window(now, "30d", time_range, start_date, end_date, timezone)


def window_90d(now: NamedDependency[datetime], time_range: TimeRange90d = None,
               start_date: StartDate = None, end_date: EndDate = None,
               timezone: Timezone = None) -> TimeWindow:
    return _window(now, "90d", time_range, start_date, end_date, timezone)


WINDOW_1D = Provide(window_1d, sync_to_thread=False)
WINDOW_7D = Provide(window_7d, sync_to_thread=False)
WINDOW_30D = Provide(window_30d, sync_to_thread=False)
WINDOW_90D = Provide(window_90d, sync_to_thread=False)

# Every service a handler may name, registered once on the app. A dependency is resolved
# only for the handlers that name it, so the operations app can register these too.
SERVICES: Mapping[str, Provide] = MappingProxyType({
    "tenant_id": AUTH,
    "engine": Provide(provide_engine, sync_to_thread=False),
    "budgets": Provide(provide_budgets, sync_to_thread=False),
    "usage": Provide(provide_usage, sync_to_thread=False),
    "alerts": Provide(provide_alerts, sync_to_thread=False),
    "webhook_policy": Provide(provide_webhook_policy, sync_to_thread=False),
    "now": Provide(provide_now, sync_to_thread=False),
    "pipeline_lag": Provide(provide_pipeline_lag, sync_to_thread=False),
    "readiness": Provide(provide_readiness, sync_to_thread=False),
    "metrics": Provide(provide_metrics, sync_to_thread=False),
    "live": Provide(provide_live, sync_to_thread=False),
    "reports": Provide(provide_reports, sync_to_thread=False),
})
