"""Tickets for browsers' `EventSource`, which cannot send an `Authorization` header.

`POST /live/tickets` (bearer auth) issues a random ticket for the caller's tenant; `GET
/live?ticket=…` redeems it once, within `TTL_SECONDS`. Tickets live in a NATS key-value
bucket whose entries expire on their own, so any API process redeems a ticket another
issued, and a delete conditioned on the entry's revision makes the first redemption the
only one. The API token itself never appears in a URL.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

import msgspec
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from chanalytics.nats.buckets import kv_bucket

BUCKET = "chanalytics_live_tickets"
_TICKET = re.compile(r"[A-Za-z0-9_-]{1,64}")
TTL_SECONDS = 60


class _Ticket(msgspec.Struct, frozen=True):
    tenant_id: str
    expires_at: datetime


class Tickets:
    def __init__(self, js: JetStreamContext, *, replicas: int = 1) -> None:
        self.js = js
        self.replicas = replicas
        self._kv: KeyValue | None = None

    async def _bucket(self) -> KeyValue:
        if self._kv is None:  # entries outlive their validity a little: `expires_at` decides
            self._kv = await kv_bucket(self.js, KeyValueConfig(
                bucket=BUCKET, history=1, ttl=2 * TTL_SECONDS, replicas=self.replicas,
                direct=False))
        return self._kv

    async def issue(self, tenant_id: str, now: datetime) -> tuple[str, datetime]:
        ticket = secrets.token_urlsafe(24)  # letters, digits, - and _: a valid key
        expires_at = now + timedelta(seconds=TTL_SECONDS)
        await (await self._bucket()).put(ticket, msgspec.json.encode(
            _Ticket(tenant_id, expires_at)))
        return ticket, expires_at

    async def redeem(self, ticket: str, now: datetime) -> str | None:
        """The ticket's tenant, once; None when it is unknown, used or expired."""
        if not _TICKET.fullmatch(ticket):
            return None
        kv = await self._bucket()
        try:
            entry = await kv.get(ticket)
        except KeyNotFoundError:
            return None
        if entry.value is None or entry.revision is None:
            return None
        try:
            await kv.delete(ticket, last=entry.revision)
        except KeyWrongLastSequenceError:
            return None  # redeemed by another request meanwhile
        found = msgspec.json.decode(entry.value, type=_Ticket)
        return found.tenant_id if now < found.expires_at else None
