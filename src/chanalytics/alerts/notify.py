"""Sending recorded state changes: to NATS (`analytics.alerts.<tenantId>`, or
`analytics.alerts.system` for a service-wide alert) with `Nats-Msg-Id` = the delivery id,
and to the rule's webhooks and e-mail addresses with `Chanalytics-Delivery` = the same id.

A change is recorded as a pending delivery before it is sent and marked done (with every
try's outcome) after; a process that dies in between leaves it pending, and the next
dispatcher sends it again under the same id: the receiver de-duplicates on it, and the
JetStream stream `ALERTS` (its duplicate window a day) drops the second publish.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from typing import Any, Protocol

import msgspec
import structlog
from nats.js import JetStreamContext
from nats.js.api import StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from chanalytics.alerts.model import SYSTEM, Outgoing
from chanalytics.alerts.store import AlertStore
from chanalytics.deliveries import DeliveryOutcome, EmailSender, WebhookSender

log = structlog.get_logger(__name__)

STREAM = "ALERTS"
SUBJECT_PREFIX = "analytics.alerts."
DUPLICATE_WINDOW = 24 * 3600.0  # a re-send after a crash lands well inside it
MAX_AGE = 7 * 24 * 3600.0


def subject_of(tenant_id: str) -> str:
    return SUBJECT_PREFIX + ("system" if tenant_id == SYSTEM else tenant_id)


class Publisher(Protocol):
    async def publish(self, subject: str, payload: bytes, msg_id: str) -> None: ...


class JetStreamPublisher:
    """Publishes into the `ALERTS` stream (made on first use), de-duplicated by id."""

    def __init__(self, js: JetStreamContext, replicas: int = 1) -> None:
        self.js, self.replicas = js, replicas
        self._ready = False

    async def _stream(self) -> None:
        if self._ready:
            return
        try:
            await self.js.stream_info(STREAM)
        except NotFoundError:
            with suppress(BadRequestError):  # another process made it a moment before
                await self.js.add_stream(StreamConfig(
                    name=STREAM, subjects=[SUBJECT_PREFIX + ">"], max_age=MAX_AGE,
                    duplicate_window=DUPLICATE_WINDOW, num_replicas=self.replicas))
        self._ready = True

    async def publish(self, subject: str, payload: bytes, msg_id: str) -> None:
        await self._stream()
        await self.js.publish(subject, payload, headers={"Nats-Msg-Id": msg_id})


class Dispatcher:
    """Sends every pending delivery once; marks each done with its tries' outcomes."""

    def __init__(self, store: AlertStore, *, publisher: Publisher | None,
                 webhooks: WebhookSender | None, email: EmailSender | None) -> None:
        self.store, self.publisher = store, publisher
        self.webhooks, self.email = webhooks, email

    async def send_pending(self) -> int:
        pending = await self.store.pending()
        await asyncio.gather(*(self._send(item) for item in pending))
        return len(pending)

    async def _send(self, item: Outgoing) -> None:
        """Send what `item` has not yet sent: the rule's targets once (their retries are
        the senders'), NATS until it is published (a NATS outage leaves the delivery
        pending, and the next pass publishes it without calling the targets again)."""
        outcomes = list(item.outcomes)
        if not any(o["channel"] != "nats" for o in outcomes):
            outcomes += await self._targets(item)
        published = any(o["channel"] == "nats" and o["status"] == "delivered"
                        for o in outcomes)
        if self.publisher is not None and not published:
            outcomes = [o for o in outcomes if o["channel"] != "nats"]
            try:
                await self.publisher.publish(subject_of(item.tenant_id), item.payload,
                                             item.delivery_id)
                outcomes.insert(0, {"channel": "nats", "status": "delivered"})
                published = True
            except Exception as exc:
                log.warning("alerts.publish.failed", tenant_id=item.tenant_id,
                            delivery=item.delivery_id, error=repr(exc))
                outcomes.insert(0, {"channel": "nats", "status": "failed",
                                    "error": repr(exc)[:300]})
        done = published or self.publisher is None
        await self.store.delivered(item, outcomes, done=done)
        log.info("alerts.delivery.sent", tenant_id=item.tenant_id, delivery=item.delivery_id,
                 change=item.event, targets=len(outcomes), done=done,
                 failed=sum(o["status"] != "delivered" for o in outcomes))

    async def _targets(self, item: Outgoing) -> list[dict[str, Any]]:
        """The rule's webhooks and e-mail lists, each with every try recorded; a placeholder
        record when the rule has none, so they are not looked for again."""
        rule = None if item.rule_id is None else await self.store.rule(item.tenant_id,
                                                                       item.rule_id)
        sends = []
        for target in rule.deliveries if rule is not None else []:
            if target.webhook is not None and self.webhooks is not None:
                sends.append(self.webhooks.deliver(target.webhook, item.event,
                                                   item.delivery_id, item.payload))
            elif target.email is not None and self.email is not None:
                alert = msgspec.json.decode(item.payload)["alert"]
                subject = f"[chanalytics] {alert['state']}: {alert['message']}"[:200]
                sends.append(self.email.deliver(target.email, item.event, item.delivery_id,
                                                subject, item.payload.decode()))
        found = [_record(outcome) for outcome in await asyncio.gather(*sends)]
        return found or [{"channel": "none", "status": "delivered"}]


def _record(outcome: DeliveryOutcome) -> dict[str, Any]:
    return {"channel": outcome.channel,
            "status": "delivered" if outcome.delivered else "failed",
            "tries": len(outcome.tries), "lastError": outcome.last_error,
            "results": [t.result for t in outcome.tries]}
