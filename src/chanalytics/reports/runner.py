"""One run of a report: its file, written once, then each of its deliveries.

The file is produced by the engine (`query/exports.py`, the same rows and encoding an
export of `POST /query` gives), written to a temporary file as it is read, stored in
ClickHouse from there (`store.py`), and sent from there: to a webhook as the request
body in pieces, to e-mail as an attachment (up to `MAX_ATTACHMENT`; a larger file is
named in the message, to be downloaded). Memory holds a block of rows or a piece of the
file, never the file.

A run's state is written after each step (file stored, each delivery done), so a run
taken over by another process after its runner stopped (`scheduler.py`) resumes: the
stored file is reused, deliveries already made are not made again, and a delivery made
but not yet recorded is sent again with the same `Chanalytics-Delivery` id, which the
receiver de-duplicates on.
"""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import structlog

from chanalytics.deliveries import (
    Attachment,
    Delivery,
    DeliveryOutcome,
    EmailSender,
    FileBody,
    WebhookSender,
)
from chanalytics.localtime import utc_text
from chanalytics.query.engine import Engine
from chanalytics.query.errors import QueryError
from chanalytics.query.exports import report_file
from chanalytics.reports.definition import ReportDefinitionBody, run_report
from chanalytics.reports.store import DeliveryRecord, ReportStore, RunRecord

log = structlog.get_logger(__name__)

MEDIA = {"csv": "text/csv; charset=utf-8", "ndjson": "application/x-ndjson",
         "json": "application/json"}
MAX_ATTACHMENT = 10 << 20  # bytes: mail servers commonly refuse messages over 10-25 MB
Fence = Callable[[], Awaitable[None]]


def _digest(*parts: str) -> str:
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=12).hexdigest()


def tick_run_id(tenant_id: str, report_id: str, scheduled_for: datetime) -> str:
    """The id of a schedule's tick: the same whoever claims it, however often."""
    return "run_" + _digest(tenant_id, report_id, utc_text(scheduled_for))


def manual_run_id() -> str:
    return "run_" + uuid.uuid4().hex[:24]


def delivery_id(run_id: str, index: int) -> str:
    """The `Chanalytics-Delivery` id of a run's delivery: the same on every try and after
    a restart, so a receiver de-duplicates a repeat."""
    return "dlv_" + _digest(run_id, str(index))


def new_run(tenant_id: str, report_id: str, body: ReportDefinitionBody, run_id: str, *,
            scheduled: bool, scheduled_for: datetime, now: datetime) -> RunRecord:
    return RunRecord(
        tenant_id=tenant_id, report_id=report_id, run_id=run_id, scheduled=scheduled,
        scheduled_for=scheduled_for, started_at=now,
        deliveries=[DeliveryRecord(channel=d.channel, delivery_id=delivery_id(run_id, i))
                    for i, d in enumerate(body.deliveries)])


def file_name(report_name: str, run: RunRecord, kind: str) -> str:
    stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in report_name)[:60] or "report"
    return f"{stem}-{run.scheduled_for.strftime('%Y%m%dT%H%M%SZ')}.{kind}"


async def _noop() -> None:
    return None


class ReportRunner:
    """Runs report runs: produce or reuse the file, then deliver it."""

    def __init__(self, engine: Engine, store: ReportStore, webhooks: WebhookSender,
                 email: EmailSender | None, *,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.engine, self.store, self.webhooks, self.email = engine, store, webhooks, email
        self.clock = clock

    async def execute(self, run: RunRecord, fence: Fence = _noop) -> RunRecord:
        """Carry `run` to its end (succeeded or failed), recording each step."""
        started = time.perf_counter()
        stored = await self.store.get(run.tenant_id, run.report_id)
        if stored is None:
            return await self._finish(run, "the report was deleted")
        body = stored.body
        if not run.deliveries and body.deliveries:
            run.deliveries = new_run(run.tenant_id, run.report_id, body, run.run_id,
                                     scheduled=run.scheduled, scheduled_for=run.scheduled_for,
                                     now=run.started_at).deliveries
        with tempfile.TemporaryDirectory(prefix="chanalytics-report-") as directory:
            path = Path(directory) / file_name(body.name, run, body.format)
            if not (run.file_id and await self.store.has_file(run.tenant_id, run.file_id)):
                try:
                    await self._produce(run, body, path)
                except QueryError as exc:  # the query no longer holds (a BadParameter)
                    return await self._finish(run, str(getattr(exc, "message", exc)))
                file_id = f"{run.run_id}_{uuid.uuid4().hex[:8]}"
                await self.store.store_file(run.tenant_id, file_id, path)
                run.file_id = file_id
                await self.store.write_run(run)
            else:
                with path.open("wb") as sink:
                    async for chunk in self.store.file_chunks(run.tenant_id, run.file_id):
                        sink.write(chunk)
            for index, delivery in enumerate(body.deliveries[:len(run.deliveries)]):
                record = run.deliveries[index]
                if record.status == "delivered":
                    continue
                await fence()  # a process that lost the scheduler's lease delivers nothing
                outcome = await self._deliver(delivery, record, body, run, path)
                record.status = "delivered" if outcome.delivered else "failed"
                record.tries += len(outcome.tries)
                record.last_error = outcome.last_error or (
                    None if outcome.tries else "e-mail is not configured (CHANALYTICS_SMTP_URL)")
                await self.store.write_run(run)
        failed = [r.channel for r in run.deliveries if r.status != "delivered"]
        finished = await self._finish(run, f"not delivered: {', '.join(failed)}" if failed
                                      else "")
        log.info("reports.run.finished", tenant_id=run.tenant_id, report=run.report_id,
                 run=run.run_id, status=finished.status, rows=run.rows, bytes=run.bytes,
                 deliveries=len(run.deliveries),
                 duration_ms=round((time.perf_counter() - started) * 1000, 1))
        return finished

    async def _produce(self, run: RunRecord, body: ReportDefinitionBody, path: Path) -> None:
        report = run_report(body, run.tenant_id, run.scheduled_for)
        rows = 0

        def count(n: int) -> None:
            nonlocal rows
            rows += n

        size = 0
        with path.open("wb") as sink:
            async for chunk in report_file(self.engine, report, body.format, count):
                sink.write(chunk)
                size += len(chunk)
        run.rows, run.bytes = rows, size

    async def _deliver(self, delivery: Delivery, record: DeliveryRecord,
                       body: ReportDefinitionBody, run: RunRecord,
                       path: Path) -> DeliveryOutcome:
        if delivery.webhook is not None:
            return await self.webhooks.deliver(
                delivery.webhook, "report.ready", record.delivery_id, FileBody(path),
                content_type=MEDIA[body.format], extra_headers=[
                    ("Chanalytics-Report", run.report_id), ("Chanalytics-Run", run.run_id),
                    ("Content-Disposition", f'attachment; filename="{path.name}"')])
        assert delivery.email is not None
        if self.email is None:
            return DeliveryOutcome(channel="email", delivery_id=record.delivery_id, tries=[])
        text = (f"The report {body.name!r} ran for {utc_text(run.scheduled_for)}: "
                f"{run.rows} rows, {run.bytes} bytes.\n"
                f"Run {run.run_id} of report {run.report_id}.\n")
        attachments: list[Attachment] = []
        if run.bytes <= MAX_ATTACHMENT:
            content = await asyncio.to_thread(path.read_bytes)
            attachments.append(Attachment(filename=path.name, content=content,
                                          content_type=MEDIA[body.format].split(";")[0]))
        else:
            text += (f"The file is too large to attach: download it from "
                     f"/api/v1/analytics/reports/{run.report_id}/runs/{run.run_id}/file "
                     "(kept 30 days).\n")
        return await self.email.deliver(delivery.email, "report.ready", record.delivery_id,
                                        f"Report: {body.name}", text, attachments)

    async def _finish(self, run: RunRecord, error: str) -> RunRecord:
        run.status = "failed" if error else "succeeded"
        run.error = error
        run.finished_at = self.clock()
        await self.store.write_run(run)
        return run
