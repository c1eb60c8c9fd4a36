"""Invalid events go to the dead-letter stream with the reason, then the original is acked."""

from __future__ import annotations

from typing import Any

import structlog
from nats.js import JetStreamContext

from chanalytics.ingest.delivery import delivery_of
from chanalytics.ingest.streams import DLQ_SUBJECT_PREFIX
from chanalytics.metrics import Metrics

log = structlog.get_logger(__name__)


class DeadLetterPublisher:
    def __init__(self, js: JetStreamContext, stream: str, metrics: Metrics) -> None:
        self.js, self.stream, self.metrics = js, stream, metrics

    async def publish(self, msg: Any, code: str, reason: str) -> None:
        """Store `msg` with its reason in the DLQ stream; raises if JetStream did not confirm."""
        seq = str(delivery_of(msg.reply).stream_seq)
        headers = {
            "Chanalytics-Error": reason[:4000],
            "Chanalytics-Reason": code,
            "Chanalytics-Subject": msg.subject,
            "Chanalytics-Stream-Seq": seq,
            # Idempotent on redelivery: JetStream drops a second copy inside its window.
            "Nats-Msg-Id": f"dlq-{seq}",
        }
        await self.js.publish(
            DLQ_SUBJECT_PREFIX + code, msg.data or b"", stream=self.stream, headers=headers
        )
        self.metrics.events_rejected.labels(reason=code).inc()
        log.warning("ingest.event.dead_lettered", reason=code, subject=msg.subject,
                    stream_seq=seq, error=reason)
