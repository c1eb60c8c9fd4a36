"""What handlers receive through `Provide`: the engine, the tenant, the window.

One window dependency per default range parses `timeRange`, `startDate`, `endDate` and
`timezone` (every bad value a BadParameter naming its parameter, before any query runs);
handlers only map the rest of their parameters.
"""

from __future__ import annotations

from datetime import datetime

from litestar.datastructures import State
from litestar.di import Provide

from chanalytics.api.parameters import (
    EndDate,
    StartDate,
    TimeRange1d,
    TimeRange7d,
    TimeRange30d,
    Timezone,
)
from chanalytics.budgets import BudgetStore
from chanalytics.query.clock import TimeWindow
from chanalytics.query.engine import Engine
from chanalytics.query.timerange import parse_window


def provide_engine(state: State) -> Engine:
    engine: Engine = state.engine
    return engine


def provide_budgets(state: State) -> BudgetStore:
    budgets: BudgetStore = state.budgets
    return budgets


def provide_now(state: State) -> datetime:
    """Now, from the app's clock: what `timeRange` presets and budgets' months end at."""
    now: datetime = state.clock()
    return now


def _window(state: State, default: str, time_range: str | None, start_date: str | None,
            end_date: str | None, timezone: str | None) -> TimeWindow:
    return parse_window(time_range=time_range, start_date=start_date, end_date=end_date,
                        timezone=timezone, default_range=default, now=state.clock())


# One per default range: the parameters are the same, their documented default is not.
def window_1d(state: State, time_range: TimeRange1d = None, start_date: StartDate = None,
              end_date: EndDate = None, timezone: Timezone = None) -> TimeWindow:
    return _window(state, "1d", time_range, start_date, end_date, timezone)


def window_7d(state: State, time_range: TimeRange7d = None, start_date: StartDate = None,
              end_date: EndDate = None, timezone: Timezone = None) -> TimeWindow:
    return _window(state, "7d", time_range, start_date, end_date, timezone)


def window_30d(state: State, time_range: TimeRange30d = None, start_date: StartDate = None,
               end_date: EndDate = None, timezone: Timezone = None) -> TimeWindow:
    return _window(state, "30d", time_range, start_date, end_date, timezone)


WINDOW_1D = Provide(window_1d, sync_to_thread=False)
WINDOW_7D = Provide(window_7d, sync_to_thread=False)
WINDOW_30D = Provide(window_30d, sync_to_thread=False)
ENGINE = Provide(provide_engine, sync_to_thread=False)
BUDGETS = Provide(provide_budgets, sync_to_thread=False)
NOW = Provide(provide_now, sync_to_thread=False)
