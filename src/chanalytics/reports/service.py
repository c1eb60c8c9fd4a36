"""The scheduled reports' moving parts in an API process: the scheduler, stepped by the
process that holds its lease (`coordination/leader.py`), and what its runs deliver with."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import structlog

from chanalytics.clickhouse.storage import Storage
from chanalytics.config import Settings
from chanalytics.coordination.leader import LeaderLoop, Lease
from chanalytics.deliveries import (
    AddressPolicy,
    EmailSender,
    RetryPolicy,
    SmtpServer,
    WebhookSender,
)
from chanalytics.query.engine import Engine
from chanalytics.reports.runner import ReportRunner
from chanalytics.reports.scheduler import INTERVAL, ReportScheduler
from chanalytics.reports.store import ReportStore

log = structlog.get_logger(__name__)

LEASE_KEY = "report-scheduler"  # in the lease bucket beside ingest's and the exports'


class ReportService:
    """Starts and stops the scheduler of one API process."""

    def __init__(self, settings: Settings, storage: Storage, lease: Lease, *,
                 retry: RetryPolicy | None = None, interval: float = INTERVAL,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        policy = AddressPolicy.from_setting(settings.webhook_allow_hosts)
        email = None
        if settings.smtp_url and settings.smtp_from:
            email = EmailSender(SmtpServer.from_url(settings.smtp_url), settings.smtp_from,
                                retry)
        store = ReportStore(storage)
        runner = ReportRunner(Engine(storage), store, WebhookSender(policy, retry), email,
                              clock=clock)
        self.scheduler = ReportScheduler(store, runner, clock=clock)
        self.leader = LeaderLoop(lease, self.scheduler.step, interval=interval,
                                 name="reports")

    def start(self) -> None:
        self.leader.start()
        log.info("reports.scheduler.started")

    async def stop(self) -> None:
        """Stop stepping and cancel the runs in flight (recorded: the next holder resumes
        them), then free the lease."""
        await self.scheduler.stop()
        await self.leader.stop()
