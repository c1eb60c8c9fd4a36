"""The dashboard API: `create_app(settings) -> Litestar`."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from datetime import datetime

import swagger_ui_bundle
from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.router import Router
from litestar.static_files import create_static_files_router

from chanalytics.alerts.health import IngestHealth
from chanalytics.alerts.notify import Dispatcher
from chanalytics.alerts.service import AlertService, AlertWiring
from chanalytics.api import (
    alerts,
    analytics,
    audience,
    campaign,
    delivery,
    funnels,
    operations,
    realtime,
    reports,
    scheduled_reports,
)
from chanalytics.api.dependencies import SERVICES
from chanalytics.api.errors import EXCEPTION_HANDLERS
from chanalytics.api.limits import url_limit
from chanalytics.api.live import LiveController
from chanalytics.api.readiness import NatsCheck, NatsProbe
from chanalytics.api.services import LiveServices, Services, required
from chanalytics.api.timing import request_timing
from chanalytics.clickhouse.storage import Storage
from chanalytics.config import Settings
from chanalytics.connections import nats_options, open_storage_client
from chanalytics.dashboard import routes as dashboard
from chanalytics.dashboard.signin import SignInTickets
from chanalytics.deliveries import AddressPolicy, EmailSender, SmtpServer, WebhookSender
from chanalytics.metrics import ApiMetrics, Metrics
from chanalytics.query.engine import Engine
from chanalytics.query.presets.realtime import PipelineLag
from chanalytics.versions import Versions

ASSETS = "/schema/assets"  # Swagger UI's files, served from the swagger-ui-bundle package


def create_app(
    settings: Settings,
    *,
    storage: Storage | None = None,
    metrics: ApiMetrics | None = None,
    nats_check: NatsCheck | None = None,
    clock: Callable[[], datetime] = analytics.system_clock,
    engine: Engine | None = None,
    probe_nats: bool = True,
    versions: Versions | None = None,
    live: LiveServices | None = None,
    pipeline_lag: PipelineLag | None = None,
    sign_in: SignInTickets | None = None,
    alerting: AlertWiring | None = None,
) -> Litestar:
    """Build the API. Parts passed in (by `chanalytics run` or tests) are shared, not owned.
    With `probe_nats` (and a NATS URL) readiness also reports the stream and consumer;
    `chanalytics serve` does not use NATS, so its readiness checks storage only. Without
    `metrics` (`serve`), `/metrics` holds the API's alone: this process runs no ingest.
    With the tenants' `versions` (those every writer of the data announces to), the
    engine reuses answers until a tenant's data changes. With `live` (a process with
    NATS), `GET /live` streams stored events; without, it answers 503. `pipeline_lag`
    asks NATS how far ingest is behind (`/realtime`'s freshness); without it that is
    null. `sign_in` holds the dashboard's one-time sign-in tickets (`dashboard/signin.py`).
    With `alerting` (and CHANALYTICS_ALERTS_ENABLED), this process evaluates alert rules
    and detectors every minute, under the wiring's locks (`alerts/service.py`)."""

    served = Services(
        metrics=metrics or ApiMetrics(), clock=clock, tokens=settings.tenant_tokens(),
        nats_check=nats_check,
        uses_nats=nats_check is not None or bool(settings.nats_url and probe_nats),
        live=live, pipeline_lag=pipeline_lag, sign_in=sign_in,
        webhook_policy=AddressPolicy.from_setting(settings.webhook_allow_hosts))
    if storage is not None:
        served.open(storage, engine, versions)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        """Build and close only what this app owns; shared parts are already served."""
        store: Storage | None = None
        if storage is None:
            store = open_storage_client(settings)
            store.connect()
            served.open(store, versions=versions)
        probe: NatsProbe | None = None
        if nats_check is None and settings.nats_url and probe_nats:
            probe = NatsProbe(settings.nats_url, settings.stream_name, settings.consumer_name,
                              nats_options(settings))
            await probe.start()
            served.nats_check = probe
        writing = asyncio.create_task(served.usage.run()) if served.usage else None
        evaluating = (asyncio.create_task(_alert_service(settings, served, alerting).run())
                      if alerting is not None and settings.alerts_enabled else None)
        try:
            yield
        finally:
            if evaluating is not None:
                evaluating.cancel()
                with suppress(asyncio.CancelledError):
                    await evaluating
            if writing is not None:
                writing.cancel()
                with suppress(asyncio.CancelledError):
                    await writing
            if probe is not None:
                await probe.stop()
            if store is not None:
                store.close()

    app = Litestar(
        route_handlers=[*operations.ROUTES, analytics.AnalyticsController,
                        alerts.AlertsController,
                        campaign.CampaignController,
                        delivery.DeliveryController, realtime.RealtimeController,
                        audience.AudienceController, funnels.FunnelController,
                        LiveController, reports.ReportsController,
                        scheduled_reports.ScheduledReportsController, _swagger_assets(),
                        *dashboard.ROUTES],
        lifespan=[lifespan],
        dependencies=dict(SERVICES),
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[request_timing, url_limit],
        openapi_config=OpenAPIConfig(
            title="chanalytics", version="0.1.0", path="/schema",
            description="Dashboard analytics for multi-channel messaging.",
            components=Components(security_schemes={
                "bearerAuth": SecurityScheme(type="http", scheme="bearer"),
            }),
            # Swagger UI from local files (the default viewers load from CDNs: blank offline).
            render_plugins=[JsonRenderPlugin(), SwaggerRenderPlugin(
                js_url=f"{ASSETS}/swagger-ui-bundle.js", css_url=f"{ASSETS}/swagger-ui.css",
                standalone_preset_js_url=f"{ASSETS}/swagger-ui-standalone-preset.js",
                # Litestar's default favicon is an image on a CDN: a request out per page.
                favicon=f'<link rel="icon" type="image/png" href="{ASSETS}/favicon-32x32.png">',
                path=["/swagger", "/"])],
        ),
        cors_config=_cors(settings.cors_origins),
        debug=False,
        logging_config=None,  # Litestar's default replaces the root handler: ours renders
    )
    app.state.services = served
    return app


def _alert_service(settings: Settings, served: Services, wiring: AlertWiring) -> AlertService:
    """The evaluator over the app's storage, sending with the process's settings."""
    store = required(served.alerts, "alerts")
    email = None
    if settings.smtp_url and settings.smtp_from:
        email = EmailSender(SmtpServer.from_url(settings.smtp_url), settings.smtp_from)
    dispatcher = Dispatcher(store, publisher=wiring.publisher,
                            webhooks=WebhookSender(served.webhook_policy), email=email)
    return AlertService(
        store, required(served.engine, "engine"), required(served.budgets, "budgets"),
        evaluate_lock=wiring.evaluate_lock, dispatch_lock=wiring.dispatch_lock,
        dispatcher=dispatcher, tenants=lambda: set(served.tokens.values()),
        lag=served.pipeline_lag, metrics=served.metrics,
        health=IngestHealth(required(served.storage, "storage"), served.pipeline_lag,
                            settings.alert_lag_seconds))


def create_operations_app(storage: Storage, metrics: Metrics, nats_check: NatsCheck) -> Litestar:
    """`/health/live`, `/health/ready` and `/metrics` alone: what an `ingest` process serves."""
    app = Litestar(route_handlers=operations.ROUTES, dependencies=dict(SERVICES),
                   exception_handlers=EXCEPTION_HANDLERS,
                   middleware=[request_timing, url_limit], openapi_config=None, debug=False,
                   logging_config=None)
    app.state.services = Services(metrics=metrics, clock=analytics.system_clock,
                                  nats_check=nats_check, uses_nats=True, storage=storage)
    return app


def _swagger_assets() -> Router:
    return create_static_files_router(path=ASSETS, directories=[swagger_ui_bundle.swagger_ui_path],
                                      include_in_schema=False)


def _cors(origins: str) -> CORSConfig | None:
    allowed = [o.strip() for o in origins.split(",") if o.strip()]
    if not allowed:
        return None
    return CORSConfig(allow_origins=allowed, allow_methods=["GET", "HEAD", "POST", "PUT",
                                                            "DELETE", "OPTIONS"],
                      allow_headers=["Authorization", "Content-Type", "Accept"],
                      expose_headers=["Content-Disposition"], max_age=600)


def freeze_startup_objects() -> None:
    """Leave the objects of a started process out of every later garbage collection.

    The modules, the app and the storage clients live as long as the process, yet a
    full (generation 2) collection walked all of them: 30-50 ms with the request waiting,
    about once per 150 requests of an hour series, measured on the bench data. Frozen,
    a full collection takes under 0.1 ms. Call it once, when everything is built.
    """
    gc.collect()
    gc.freeze()
