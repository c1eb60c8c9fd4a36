"""How `run`, `serve` and `ingest` run once `main` has read the settings and opened
storage: the API under uvicorn (the CLI owns the signals), the ingest service, and `run`'s
all-in-one with the bundled nats-server and the demo."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from collections.abc import Callable, Coroutine
from contextlib import AbstractContextManager, nullcontext, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import nats
import structlog
import uvicorn
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from chanalytics.alerts.notify import JetStreamPublisher
from chanalytics.alerts.service import AlertWiring
from chanalytics.api.httpserver import server_config
from chanalytics.api.services import LiveServices
from chanalytics.app import create_app, create_operations_app, freeze_startup_objects
from chanalytics.cli.banner import banner
from chanalytics.clickhouse.storage import Storage
from chanalytics.config import Settings
from chanalytics.connections import nats_options, nats_servers
from chanalytics.coordination.lease import KvLease, LocalLock
from chanalytics.dashboard.signin import SignInTickets
from chanalytics.live.hub import LiveHub
from chanalytics.live.tickets import Tickets
from chanalytics.metrics import Metrics
from chanalytics.nats.lag import lag_reader
from chanalytics.nats.server import LocalNatsServer, PortTaken
from chanalytics.nats.store import StoreBusy
from chanalytics.query.engine import Engine
from chanalytics.reports.service import LEASE_KEY, ReportService
from chanalytics.versions import KvVersions, LocalVersions, Versions
from chanalytics.warehouse.daily import DailyExport

if TYPE_CHECKING:
    from chanalytics.ingest.service import IngestService

log = structlog.get_logger(__name__)

DEMO_TENANT = "tenant_demo"
NATS_PORT = 4222  # the bundled server's port when free, so the banner's URL stays put
# `/realtime` asks NATS for the lag on each request: a slow NATS must not hold it long.
LAG_TIMEOUT = 2


class Demo(NamedTuple):
    rate: float  # stories per minute
    backfill_days: float


def run_loop(main: Coroutine[Any, Any, int]) -> int:
    """Run on uvloop where it is installed: the NATS receive path is the ingest ceiling,
    and uvloop makes it ~1.5x faster than the default loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(_stop_on_signal_while_starting(main))
    return uvloop.run(_stop_on_signal_while_starting(main))


async def _stop_on_signal_while_starting(main: Coroutine[Any, Any, int]) -> int:
    """SIGTERM/SIGINT before the command installs its own handlers (while it connects,
    recovers, starts NATS consumers): cancel the start-up, so every `finally` runs in
    order, and exit 0 as a requested stop. (`main`'s Python-level handler raised
    `SystemExit`, which could land in any task — a NATS reader, say — and leave the main
    coroutine waiting on it forever.)"""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    try:
        return await main
    except asyncio.CancelledError:
        log.info("cli.start.stopped", reason="signal while starting")
        return 0


class _ApiServer(uvicorn.Server):
    """uvicorn, minus its signal capture: it re-raises a caught SIGTERM after serving, which
    would kill the process before ingest flushes and acks. The CLI owns the signals.
    `announce` is told the URL once the socket listens (its real port, also for port 0)."""

    def __init__(self, config: uvicorn.Config,
                 announce: Callable[[str], None] | None = None) -> None:
        super().__init__(config)
        self.announce = announce

    def capture_signals(self) -> AbstractContextManager[None]:  # type: ignore[override]
        return nullcontext()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self.announce is not None and self.servers:
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            self.announce(f"http://{f'[{host}]' if ':' in host else host}:{port}")

async def _serve_until_signal(settings: Settings, app: object,
                              announce: Callable[[str], None] | None = None) -> None:
    server = _ApiServer(server_config(app, settings.http_host, settings.http_port,
                                      lifespan="on"), announce)

    def request_exit() -> None:
        server.force_exit = server.should_exit  # a second signal: stop waiting for requests
        server.should_exit = True

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, request_exit)
    freeze_startup_objects()
    await server.serve()


async def serve(settings: Settings, storage: Storage) -> int:
    def announce(url: str) -> None:
        print(f"serving the API at {url} (docs: {url}/schema/swagger; ClickHouse: "
              f"{storage.shown_dsn})", flush=True)

    nc = None if storage.embedded else await _connect_nats(settings)
    js = nc.jetstream(timeout=5) if nc is not None else None
    versions: Versions | None = LocalVersions()  # embedded: this process is the only writer
    if not storage.embedded:
        versions = None if js is None else KvVersions(js, replicas=settings.stream_replicas)
    if versions is None:
        log.info("api.cache.off", reason="no NATS: the writers' announcements are not seen")
    live = await _live(js, settings) if js is not None else None
    reports = _report_service(settings, storage, js)
    try:
        # The lag is asked of NATS when this process has it.
        lag = None if nc is None else lag_reader(
            nc.jetstream(timeout=LAG_TIMEOUT), settings.stream_name, settings.consumer_name)
        app = create_app(settings, storage=storage, probe_nats=False, versions=versions,
                         live=live, pipeline_lag=lag,
                         alerting=_alerting(js, storage.embedded, settings))
        if reports is not None:
            reports.start()
        await _serve_until_signal(settings, app, announce)
    finally:
        if reports is not None:
            await reports.stop()
        if live is not None:
            await live.hub.stop()
        if nc is not None:
            await nc.close()
    return 0


def _alerting(js: JetStreamContext | None, embedded: bool,
              settings: Settings) -> AlertWiring | None:
    """How this process evaluates alerts: with NATS, under leases shared with every other
    API process, publishing state changes; on the embedded engine without NATS, alone
    (one process owns the directory). A server without NATS evaluates nothing: nothing
    would keep two such processes from announcing a change twice."""
    if js is not None:
        # Held for as long as the process lives (`LeaderLoop`): the others wait for good,
        # so they poll at most every second, as the report scheduler's standbys do.
        return AlertWiring(evaluate_lock=KvLease(js, key="alerts-evaluate", max_poll=1.0),
                           dispatch_lock=KvLease(js, key="alerts-dispatch", max_poll=1.0),
                           publisher=JetStreamPublisher(js, settings.stream_replicas))
    if embedded:
        return AlertWiring(evaluate_lock=LocalLock(), dispatch_lock=LocalLock())
    log.warning("alerts.evaluator.off", reason="no NATS to share the evaluation lease")
    return None


def _report_service(settings: Settings, storage: Storage,
                    js: JetStreamContext | None) -> ReportService | None:
    """The scheduled reports' scheduler: one process of the deployment runs the ticks,
    chosen by a NATS KV lease (the embedded engine has one process: a local lock). Several
    API processes on a ClickHouse server without NATS could not agree on one: then none
    runs them (logged)."""
    if storage.embedded:
        return ReportService(settings, storage, LocalLock())
    if js is None:
        log.warning("reports.scheduler.off",
                    reason="no NATS to elect the one process that runs the ticks")
        return None
    return ReportService(settings, storage, KvLease(js, key=LEASE_KEY, max_poll=1.0))


async def _connect_nats(settings: Settings) -> NATS | None:
    """`serve`'s NATS, for the tenants' versions (kept answers) and the live stream: the
    ingest processes' CHANALYTICS_NATS_URL. None (logged) when unset or not answering;
    the API then reads every answer afresh and `/live` answers 503."""
    if not settings.nats_url:
        return None
    try:
        return await nats.connect(nats_servers(settings.nats_url), connect_timeout=5,
                                  max_reconnect_attempts=-1, allow_reconnect=True,
                                  reconnect_time_wait=0.25, name="chanalytics-serve",
                                  **nats_options(settings))
    except Exception as exc:
        log.warning("api.nats.unavailable", error=repr(exc))
        return None


async def _live(js: JetStreamContext, settings: Settings) -> LiveServices | None:
    """The live stream's hub (subscribed) and tickets, or None (logged) when NATS refuses."""
    hub = LiveHub(js, replicas=settings.stream_replicas)
    try:
        await hub.start()
    except Exception as exc:
        log.warning("live.hub.unavailable", error=repr(exc))
        return None
    return LiveServices(hub, Tickets(js, replicas=settings.stream_replicas))


def _sign_in_token(settings: Settings, dev_token: str | None, demo: bool) -> str | None:
    """The token the banner's dashboard link signs in with: the development token (printed
    anyway), or with `--demo` a configured key of the demo tenant; else None (no link)."""
    if dev_token is not None:
        return dev_token
    if not demo:
        return None
    return next((known for known, tenant in settings.tenant_tokens().items()
                 if tenant == DEMO_TENANT), None)


async def ingest(settings: Settings, storage: Storage, nats_url: str) -> int:
    from chanalytics.ingest.service import IngestService

    metrics = Metrics()
    service = IngestService(settings, storage, metrics, nats_url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    probes: _ApiServer | None = None
    serving: asyncio.Task[None] | None = None
    try:
        await service.start()
        _schedule_daily_export(settings, storage, service)
        if settings.ingest_http_port is not None:  # health and metrics of this process
            app = create_operations_app(storage, metrics, service)
            probes = _ApiServer(server_config(app, settings.http_host,
                                              settings.ingest_http_port))
            serving = asyncio.create_task(probes.serve())
        waiter = asyncio.create_task(service.wait())
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
    finally:
        await service.stop()
        if probes is not None and serving is not None:
            probes.should_exit = True
            await serving
    return 0


def _schedule_daily_export(settings: Settings, storage: Storage,
                           service: IngestService) -> None:
    """With CHANALYTICS_EXPORT_DIR, the daily export joins ingest's jobs: the ingest side
    holds NATS for the lease that keeps several processes from exporting a day twice
    (the embedded engine has one process, and a local lock)."""
    if not settings.export_dir or service.scheduler is None or service.js is None:
        return
    lock: LocalLock | KvLease = (LocalLock() if storage.embedded
                                 else KvLease(service.js, key="daily-export"))
    DailyExport(Engine(storage), Path(settings.export_dir), lock).schedule(service.scheduler)
    log.info("export.daily.scheduled", directory=settings.export_dir)


def run_with_local_nats(settings: Settings, storage: Storage, token: str | None, *,
                        demo: Demo | None, nats_port: int | None = None) -> int:
    """`run`: the bundled nats-server unless CHANALYTICS_NATS_URL is set, then everything.
    The server is the data directory's only one: a server left by a killed `run` is
    stopped first (and its port taken back), a live `run` on the directory refuses."""
    if settings.nats_url:
        return run_loop(run_all(settings, storage, settings.nats_url, token, demo=demo))
    server = LocalNatsServer(Path(settings.data_dir).resolve() / "nats", nats_port,
                             preferred_port=NATS_PORT)
    try:
        server.start()
    except (StoreBusy, PortTaken) as exc:
        hint = ": choose another with --nats-port" if isinstance(exc, PortTaken) else ""
        print(f"chanalytics: {exc}{hint}", file=sys.stderr)
        return 2
    try:
        return run_loop(run_all(settings, storage, server.url, token, demo=demo))
    finally:
        server.stop()


async def run_all(settings: Settings, storage: Storage, nats_url: str, token: str | None, *,
                  demo: Demo | None) -> int:
    """Ingest and API in one process (the embedded engine allows one owner per directory);
    with `demo`, demo traffic too."""
    from chanalytics.cli.demofeed import DemoFeed, run_demo
    from chanalytics.ingest.service import IngestService

    metrics = Metrics()
    service = IngestService(settings, storage, metrics, nats_url)
    demo_stop = asyncio.Event()
    demo_task: asyncio.Task[None] | None = None
    history: float | None = None
    feed: DemoFeed | None = None
    live: LiveServices | None = None
    reports: ReportService | None = None
    try:
        await service.start()
        _schedule_daily_export(settings, storage, service)
        reports = _report_service(settings, storage, service.js)
        if demo is not None and (js := service.js) is not None:
            try:
                feed = DemoFeed(js, [DEMO_TENANT, "tenant_other_1", "tenant_other_2"],
                                Path(settings.data_dir), rate_per_minute=demo.rate,
                                backfill_days=demo.backfill_days, now=datetime.now(UTC))
            except ValueError as exc:  # an unreadable demo marker
                print(f"chanalytics: {exc}", file=sys.stderr)
                return 2
            history = feed.history_seconds

        live = await _live(service.js, settings) if service.js is not None else None
        lag = None if service.nc is None else lag_reader(
            service.nc.jetstream(timeout=LAG_TIMEOUT), settings.stream_name,
            settings.consumer_name)
        sign_in = SignInTickets()
        shown = _sign_in_token(settings, token, demo is not None)
        app = create_app(settings, storage=storage, metrics=metrics, nats_check=service,
                         versions=service.versions, live=live, pipeline_lag=lag,
                         sign_in=sign_in,
                         alerting=_alerting(service.js, storage.embedded, settings))
        if reports is not None:
            reports.start()
        url = f"http://{settings.http_host}:{settings.http_port}"
        print(banner(url, nats_url, token, history,
                     sign_in.mint(shown) if shown else None), flush=True)
        if feed is not None and (js := service.js) is not None:
            # Only now: the demo announces when its history is stored, after the banner.
            async def acked_through() -> int:
                info = await js.consumer_info(settings.stream_name, settings.consumer_name)
                return info.ack_floor.stream_seq if info.ack_floor else 0

            demo_task = asyncio.create_task(run_demo(
                feed, demo_stop, acked_through=acked_through,
                announce=lambda line: print(line, flush=True)))
        await _serve_until_signal(settings, app)
    finally:
        if reports is not None:
            await reports.stop()
        if live is not None:
            await live.hub.stop()
        demo_stop.set()
        if demo_task is not None:
            demo_task.cancel()
            with suppress(BaseException):
                await demo_task
        await service.stop()
    return 0
