"""Live numbers under `/api/v1/analytics` (`docs/api.md#get-realtime`): parameters to a
preset, as in `analytics.py`."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from litestar import Controller, get
from litestar.di import NamedDependency

from chanalytics.api.analytics import Envelope
from chanalytics.api.examples import answered
from chanalytics.api.parameters import Channel, Timezone
from chanalytics.query.answer import answer
from chanalytics.query.engine import Engine
from chanalytics.query.filters import parse_channel
from chanalytics.query.presets.realtime import PipelineLag, RealtimeData, realtime
from chanalytics.query.request import QueryRequest
from chanalytics.query.timerange import today_window


class RealtimeController(Controller):
    """The caller's tenant right now."""

    path = "/api/v1/analytics"
    tags = ("analytics",)
    security = ({"bearerAuth": []},)

    @get("/realtime", summary="The last 5 minutes, the last hour and today; live campaigns",
         responses=answered("realtime", Envelope[RealtimeData]))
    async def realtime(self, now: NamedDependency[datetime], engine: NamedDependency[Engine],
                       tenant_id: NamedDependency[str],
                       pipeline_lag: NamedDependency[PipelineLag | None],
                       timezone: Timezone = None, channel: Channel = None,
                       ) -> Envelope[RealtimeData]:
        """Message numbers of `[now - 5 min, now)`, `[now - 60 min, now)` and `[local
        midnight, now)` in `timezone`; campaigns started and not completed; the newest
        stored event and how far ingest is behind. No range parameters (a `timeRange`,
        `startDate` or `endDate` is ignored, like any parameter an endpoint does not take)."""
        request = QueryRequest(tenant_id=tenant_id, window=today_window(now, timezone),
                               channel=parse_channel(channel))
        preset = partial(realtime, lag=pipeline_lag)
        return Envelope(data=await answer("realtime", preset, engine, request, None))
