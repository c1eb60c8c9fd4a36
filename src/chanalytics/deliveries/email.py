"""E-mail delivery through the operator's SMTP server, with attachments (a report file).

`CHANALYTICS_SMTP_URL` is `smtp://user:pass@host:port` (STARTTLS when the server offers
it; port 25 unless given) or `smtps://…` (TLS from the first byte; port 465 unless
given); `CHANALYTICS_SMTP_FROM` is the sender. The password lives only in `SmtpServer`,
whose repr hides it, and is scrubbed from any error text before the text is logged or
recorded. Tries are retried like webhooks (`attempts.py`); a 5xx reply (a refused
recipient or sender, a failed login) is permanent and ends the delivery.
"""

from __future__ import annotations

import asyncio
import ssl
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import unquote, urlsplit

import aiosmtplib
import msgspec

from chanalytics.deliveries.attempts import (
    DeliveryOutcome,
    RetryPolicy,
    Sleep,
    TryAnswer,
    deliver_with_retries,
)
from chanalytics.deliveries.targets import EmailTarget, Event


class SmtpServer(msgspec.Struct, frozen=True, kw_only=True):
    """Where and how to hand mail over, parsed from `CHANALYTICS_SMTP_URL`."""

    host: str
    port: int
    tls: bool  # smtps: TLS on connect; else STARTTLS when offered
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        """Parse `smtp[s]://[user[:pass]@]host[:port]`; ValueError (without the URL's
        password) for anything else."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("expected smtp://[user:pass@]host[:port] or smtps://…")
        try:
            port = parts.port or (465 if scheme == "smtps" else 25)
        except ValueError:
            raise ValueError("the SMTP URL has an invalid port") from None
        return cls(host=parts.hostname, port=port, tls=scheme == "smtps",
                   username=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password) if parts.password else None)

    def __repr__(self) -> str:
        password = "<set>" if self.password else None
        return (f"SmtpServer(host={self.host!r}, port={self.port}, tls={self.tls}, "
                f"username={self.username!r}, password={password})")

    __str__ = __repr__


class Attachment(msgspec.Struct, frozen=True, kw_only=True):
    filename: str
    content: bytes
    content_type: str = "application/octet-stream"


class EmailSender:
    """Sends e-mail deliveries through one SMTP server from one sender address."""

    def __init__(self, server: SmtpServer, sender: str, retry: RetryPolicy | None = None, *,
                 sleep: Sleep = asyncio.sleep, ssl_context: ssl.SSLContext | None = None
                 ) -> None:
        self.server = server
        self.sender = sender
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.ssl_context = ssl_context  # None: the system's CAs

    def message(self, target: EmailTarget, event: Event, delivery_id: str, subject: str,
                text: str, attachments: list[Attachment] | tuple[()] = ()) -> EmailMessage:
        """The message as sent: the same delivery headers a webhook carries."""
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = ", ".join(target.to)
        message["Subject"] = subject
        message["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        message["Chanalytics-Event"] = event
        message["Chanalytics-Delivery"] = delivery_id
        message.set_content(text)
        for item in attachments:
            maintype, _, subtype = item.content_type.partition("/")
            message.add_attachment(item.content, maintype=maintype,
                                   subtype=subtype or "octet-stream", filename=item.filename)
        return message

    async def deliver(self, target: EmailTarget, event: Event, delivery_id: str,
                      subject: str, text: str,
                      attachments: list[Attachment] | tuple[()] = ()) -> DeliveryOutcome:
        """Send one message to every address of `target`; every try recorded."""
        message = self.message(target, event, delivery_id, subject, text, attachments)

        async def attempt() -> TryAnswer:
            return await self._try(message)

        return await deliver_with_retries("email", delivery_id, attempt, self.retry,
                                          self.sleep, target=f"smtp:{self.server.host}")

    async def _try(self, message: EmailMessage) -> TryAnswer:
        server = self.server
        try:
            errors, _reply = await aiosmtplib.send(
                message, hostname=server.host, port=server.port, username=server.username,
                password=server.password, use_tls=server.tls,
                start_tls=False if server.tls else None, tls_context=self.ssl_context,
                timeout=self.retry.timeout)
        except aiosmtplib.SMTPResponseException as exc:
            permanent = 500 <= exc.code < 600
            return TryAnswer(result="refused" if permanent else "failed", status=exc.code,
                             error=self._scrub(f"SMTP {exc.code}: {exc.message}"))
        except (aiosmtplib.SMTPException, OSError) as exc:
            return TryAnswer(result="failed", error=self._scrub(f"{type(exc).__name__}: {exc}"))
        if errors:  # some recipients refused, the others accepted: say which
            refused = ", ".join(f"{to} ({r.code})" for to, r in errors.items())
            return TryAnswer(result="refused", error=self._scrub(f"recipients refused: {refused}"))
        # aiosmtplib returns the reply's text only; it raises on any code but 250.
        return TryAnswer(result="delivered", status=250)

    def _scrub(self, text: str) -> str:
        password = self.server.password
        return text.replace(password, "<password>") if password else text
