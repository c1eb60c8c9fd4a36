"""The dashboard API: `create_app(settings) -> Litestar`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.openapi import OpenAPIConfig

from chanalytics.api import analytics, operations
from chanalytics.api.errors import EXCEPTION_HANDLERS
from chanalytics.config import Settings
from chanalytics.metrics import Metrics
from chanalytics.readiness import NatsCheck, NatsProbe
from chanalytics.storage import Storage


def create_app(
    settings: Settings,
    *,
    storage: Storage | None = None,
    metrics: Metrics | None = None,
    nats_check: NatsCheck | None = None,
) -> Litestar:
    """Build the API. Parts passed in (by `chanalytics run` or tests) are shared, not owned."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        own_storage = storage is None
        store = storage or Storage(settings.clickhouse_dsn, settings.clickhouse_database)
        if own_storage:
            store.connect()
        probe: NatsProbe | None = None
        check = nats_check
        if check is None and settings.nats_url:
            probe = NatsProbe(settings.nats_url, settings.stream_name, settings.consumer_name)
            await probe.start()
            check = probe
        app.state.storage = store
        app.state.nats_check = check
        app.state.queries = analytics.build_queries(store)
        try:
            yield
        finally:
            if probe is not None:
                await probe.stop()
            if own_storage:
                store.close()

    app = Litestar(
        route_handlers=[*operations.ROUTES, analytics.AnalyticsController],
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=OpenAPIConfig(
            title="chanalytics", version="0.1.0", path="/schema",
            description="Dashboard analytics for multi-channel messaging.",
        ),
        debug=False,
    )
    app.state.metrics = metrics or Metrics()
    app.state.tokens = settings.tenant_tokens()
    return app
