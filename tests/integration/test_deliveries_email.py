"""E-mail deliveries through a real SMTP server on loopback (aiosmtpd): the message and
its attachment arrive, AUTH and STARTTLS work, failures are retried, and the password
shows nowhere."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
import structlog
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from webhook_receiver import localhost_certificate

from chanalytics.deliveries import EmailTarget, RetryPolicy
from chanalytics.deliveries.email import Attachment, EmailSender, SmtpServer
from chanalytics.nats.server import free_port

pytestmark = [
    pytest.mark.once,  # starts its own server; the server pass would repeat it
    # Plain-text AUTH on loopback, so the tests need no certificate; TLS is tested too.
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS"),
]

FAST = RetryPolicy(tries=3, first_delay=0.01, max_delay=0.05, timeout=5.0)
TARGET = EmailTarget(to=["ops@example.com", "cto@example.com"])
CSV = b"channel,sent\nemail,120\n"


class Inbox:
    """An aiosmtpd handler keeping every message; answers 451 to the first `fail_first`."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.tries = 0
        self.messages: list[tuple[Envelope, EmailMessage]] = []
        self.logins: list[str] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.tries += 1
        if self.tries <= self.fail_first:
            return "451 4.3.0 try again later"
        raw = envelope.content if isinstance(envelope.content, bytes) else b""
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((envelope, parsed))
        return "250 OK"

    def authenticate(self, server: SMTP, session: Session, envelope: Envelope,
                     mechanism: str, auth_data: object) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login, auth_data.password) == (b"mailer", b"pa:ss@word")
        if ok:
            self.logins.append(mechanism)
        return AuthResult(success=ok, handled=False)  # let aiosmtpd answer 535


@contextmanager
def smtp_server(inbox: Inbox, *, auth: bool = False, tls: ssl.SSLContext | None = None,
                implicit_tls: ssl.SSLContext | None = None) -> Iterator[int]:
    port = free_port()
    options: dict[str, object] = {}
    if auth:
        options.update(authenticator=inbox.authenticate, auth_required=True,
                       auth_require_tls=tls is not None)
    if tls is not None:
        options.update(tls_context=tls, require_starttls=True)
    if implicit_tls is not None:
        options.update(ssl_context=implicit_tls)
    controller = Controller(inbox, hostname="127.0.0.1", port=port,
                            server_hostname="localhost", **options)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def sender(port: int, url: str = "smtp://127.0.0.1:{port}", retry: RetryPolicy = FAST,
           ssl_context: ssl.SSLContext | None = None) -> EmailSender:
    return EmailSender(SmtpServer.from_url(url.format(port=port)), "reports@example.com",
                       retry, sleep=_no_wait, ssl_context=ssl_context)


async def _no_wait(_seconds: float) -> None:
    return None


class TestEmailDelivery:
    async def test_a_report_arrives_with_its_attachment(self) -> None:
        """Every recipient gets one message with the text, the delivery headers and the
        report attached byte for byte."""
        inbox = Inbox()
        with smtp_server(inbox) as port:
            outcome = await sender(port).deliver(
                TARGET, "report.ready", "dlv-9", "Weekly report", "Attached.",
                [Attachment(filename="weekly.csv", content=CSV, content_type="text/csv")])
        assert outcome.delivered and outcome.tries[0].status == 250
        ((envelope, message),) = inbox.messages
        assert envelope.mail_from == "reports@example.com"
        assert envelope.rcpt_tos == ["ops@example.com", "cto@example.com"]
        assert message["Subject"] == "Weekly report"
        assert message["Chanalytics-Delivery"] == "dlv-9"
        assert message["Chanalytics-Event"] == "report.ready"
        (attached,) = list(message.iter_attachments())
        assert attached.get_filename() == "weekly.csv"
        assert attached.get_content_type() == "text/csv"
        assert attached.get_payload(decode=True) == CSV

    async def test_auth_with_a_password_from_the_url(self) -> None:
        """The URL's user and (percent-encoded) password log in; a wrong one is refused
        permanently, without retries."""
        inbox = Inbox()
        with smtp_server(inbox, auth=True) as port:
            good = await sender(port, "smtp://mailer:pa%3Ass%40word@127.0.0.1:{port}").deliver(
                TARGET, "alert.firing", "d1", "Alert", "Firing.")
            bad = await sender(port, "smtp://mailer:wrong@127.0.0.1:{port}").deliver(
                TARGET, "alert.firing", "d2", "Alert", "Firing.")
        assert good.delivered and inbox.logins and len(inbox.messages) == 1
        assert [t.result for t in bad.tries] == ["refused"] and bad.tries[0].status == 535
        assert "wrong" not in (bad.last_error or "")

    async def test_starttls_is_used_when_offered(self, tmp_path: Path) -> None:
        """A server that offers STARTTLS (and requires it before AUTH) gets the message
        over TLS, the certificate checked against the host name."""
        cert, key = localhost_certificate(tmp_path)
        server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_tls.load_cert_chain(cert, key)
        inbox = Inbox()
        with smtp_server(inbox, auth=True, tls=server_tls) as port:
            outcome = await sender(
                port, "smtp://mailer:pa%3Ass%40word@localhost:{port}",
                ssl_context=ssl.create_default_context(cafile=str(cert))).deliver(
                TARGET, "report.ready", "d", "Report", "Attached.")
        assert outcome.delivered and len(inbox.messages) == 1

    async def test_smtps_is_tls_from_the_first_byte(self, tmp_path: Path) -> None:
        """`smtps://` speaks TLS on connect (a server that only speaks TLS gets it)."""
        cert, key = localhost_certificate(tmp_path)
        server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_tls.load_cert_chain(cert, key)
        inbox = Inbox()
        with smtp_server(inbox, implicit_tls=server_tls) as port:
            outcome = await sender(
                port, "smtps://localhost:{port}",
                ssl_context=ssl.create_default_context(cafile=str(cert))).deliver(
                TARGET, "report.ready", "d", "Report", "Attached.")
        assert outcome.delivered and len(inbox.messages) == 1

    async def test_a_temporary_failure_is_retried(self) -> None:
        """A 451 is a failed try, tried again; every try recorded."""
        inbox = Inbox(fail_first=1)
        with smtp_server(inbox) as port:
            outcome = await sender(port).deliver(TARGET, "alert.resolved", "d", "S", "T")
        assert [(t.result, t.status) for t in outcome.tries] == [
            ("failed", 451), ("delivered", 250)]
        assert len(inbox.messages) == 1

    async def test_no_server_is_a_failed_try(self) -> None:
        outcome = await sender(free_port()).deliver(TARGET, "report.ready", "d", "S", "T")
        assert [t.result for t in outcome.tries] == ["failed"] * 3


class TestSecrets:
    def test_the_url_parses_and_the_repr_hides_the_password(self) -> None:
        server = SmtpServer.from_url("smtps://u%40x:hunter2@mail.example.com")
        assert (server.host, server.port, server.tls) == ("mail.example.com", 465, True)
        assert (server.username, server.password) == ("u@x", "hunter2")
        assert "hunter2" not in repr(server) and "hunter2" not in str(server)
        assert SmtpServer.from_url("smtp://mail.example.com").port == 25
        with pytest.raises(ValueError, match="smtp://") as caught:
            SmtpServer.from_url("http://u:hunter2@mail")
        assert "hunter2" not in str(caught.value)

    async def test_the_password_never_reaches_logs_or_records(self) -> None:
        """Failed logins and retries log and record errors, never the password."""
        inbox = Inbox()
        with smtp_server(inbox, auth=True) as port, structlog.testing.capture_logs() as logs:
            email = sender(port, "smtp://mailer:hunter2@127.0.0.1:{port}")
            outcome = await email.deliver(TARGET, "alert.firing", "d", "S", "T")
        assert logs and not outcome.delivered
        assert "hunter2" not in repr(logs) + repr(outcome) + repr(email.server)
