"""Webhook deliveries against a real HTTP receiver on loopback: headers, signature,
retries and their records, and the address rule on every hop."""

from __future__ import annotations

import hashlib
import hmac
import ssl
from pathlib import Path

import pytest
import structlog
from webhook_receiver import Script, localhost_certificate, receiver

from chanalytics.deliveries import (
    AddressPolicy,
    RetryPolicy,
    UnsafeTarget,
    WebhookSender,
    WebhookTarget,
    check_webhook_url,
)

pytestmark = pytest.mark.once  # starts its own servers; the server pass would repeat it

FAST = RetryPolicy(tries=3, first_delay=0.01, max_delay=0.05, timeout=2.0)
LOOPBACK = AddressPolicy(["127.0.0.1", "localhost"])
BODY = b'{"reportId":"r1","rows":3}'


class _Sleeps:
    """An injected `sleep` that records the waits instead of waiting them."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


class TestWebhookDelivery:
    async def test_headers_and_signature(self) -> None:
        """One POST carries the event, the delivery id and the body's HMAC-SHA256."""
        with receiver() as (port, script):
            target = WebhookTarget(url=f"http://127.0.0.1:{port}/hook?x=1", secret="s3cret")
            outcome = await WebhookSender(LOOPBACK, FAST).deliver(
                target, "report.ready", "dlv-1", BODY)
        assert outcome.delivered and len(outcome.tries) == 1
        (got,) = script.received
        assert (got.method, got.path, got.body) == ("POST", "/hook?x=1", BODY)
        assert got.headers["chanalytics-event"] == "report.ready"
        assert got.headers["chanalytics-delivery"] == "dlv-1"
        assert got.headers["content-type"] == "application/json"
        expected = hmac.new(b"s3cret", BODY, hashlib.sha256).hexdigest()
        assert got.headers["chanalytics-signature"] == f"sha256={expected}"
        first = outcome.tries[0]
        assert (first.number, first.result, first.status) == (1, "delivered", 204)
        assert first.address == "127.0.0.1" and first.duration_ms >= 0

    async def test_no_secret_no_signature(self) -> None:
        """Without a secret the request is sent unsigned."""
        with receiver() as (port, script):
            target = WebhookTarget(url=f"http://127.0.0.1:{port}/")
            await WebhookSender(LOOPBACK, FAST).deliver(target, "alert.firing", "d", BODY)
        assert "chanalytics-signature" not in script.received[0].headers

    async def test_failures_are_retried_with_backoff_and_recorded(self) -> None:
        """Two 503s then a 204: three tries, the waits growing, each try recorded; the
        delivery id is the same on every try, so the receiver can de-duplicate."""
        sleeps = _Sleeps()
        with receiver(Script(fail_first=2, fail_status=503)) as (port, script):
            target = WebhookTarget(url=f"http://127.0.0.1:{port}/", secret="k")
            outcome = await WebhookSender(LOOPBACK, FAST, sleep=sleeps).deliver(
                target, "alert.resolved", "dlv-2", BODY)
        assert outcome.delivered
        assert [(t.number, t.result, t.status) for t in outcome.tries] == [
            (1, "failed", 503), (2, "failed", 503), (3, "delivered", 204)]
        assert outcome.tries[0].error == "HTTP 503"
        assert sleeps.waits == [0.01, 0.02]
        assert {r.headers["chanalytics-delivery"] for r in script.received} == {"dlv-2"}

    async def test_gives_up_after_the_last_try(self) -> None:
        """A receiver that always fails gets exactly `tries` requests; the outcome says so."""
        with receiver(Script(fail_first=99, fail_status=400)) as (port, script):
            target = WebhookTarget(url=f"http://127.0.0.1:{port}/")
            outcome = await WebhookSender(LOOPBACK, FAST, sleep=_Sleeps()).deliver(
                target, "report.ready", "d", BODY)
        assert not outcome.delivered and len(script.received) == 3
        assert outcome.last_error == "HTTP 400"

    async def test_a_slow_receiver_times_out_and_is_retried(self) -> None:
        """No answer within the timeout is a failed try, retried."""
        policy = RetryPolicy(tries=2, first_delay=0.01, timeout=0.3)
        with receiver(Script(delay=0.6)) as (port, _):
            target = WebhookTarget(url=f"http://127.0.0.1:{port}/")
            outcome = await WebhookSender(LOOPBACK, policy, sleep=_Sleeps()).deliver(
                target, "report.ready", "d", BODY)
        assert [t.result for t in outcome.tries] == ["failed", "failed"]
        assert all("0.3" in (t.error or "") for t in outcome.tries)

    async def test_connection_refused_is_a_failed_try(self) -> None:
        """Nothing listening: every try fails with the connection error, none crashes."""
        with receiver() as (port, _):
            pass  # the port is free again
        outcome = await WebhookSender(LOOPBACK, FAST, sleep=_Sleeps()).deliver(
            WebhookTarget(url=f"http://127.0.0.1:{port}/"), "report.ready", "d", BODY)
        assert [t.result for t in outcome.tries] == ["failed"] * 3
        assert "ConnectError" in (outcome.last_error or "")

    async def test_the_default_schedule_spans_a_minute(self) -> None:
        """By default at least 3 tries, spread over at least a minute, 10 s each at most."""
        policy = RetryPolicy()
        backoff = policy.backoff()
        waits = [backoff.next_delay() for _ in range(policy.tries - 1)]
        assert policy.tries >= 3 and sum(waits) >= 60 and policy.timeout == 10


class TestAddressRule:
    async def test_loopback_is_refused_unless_allowed(self) -> None:
        """127.0.0.1 is refused, not tried again, and the receiver sees nothing."""
        with receiver() as (port, script):
            target = WebhookTarget(url=f"http://127.0.0.1:{port}/")
            outcome = await WebhookSender(AddressPolicy(), FAST, sleep=_Sleeps()).deliver(
                target, "report.ready", "d", BODY)
        assert [t.result for t in outcome.tries] == ["refused"]
        assert "loopback" in (outcome.last_error or "") and script.received == []

    async def test_a_name_resolving_to_loopback_is_refused(self) -> None:
        """`localhost` is judged by the addresses it resolves to, and allowed by name."""
        with pytest.raises(UnsafeTarget, match="loopback") as caught:
            await check_webhook_url("http://localhost:9/", AddressPolicy(), "deliveries[0]")
        assert caught.value.field == "deliveries[0]" and caught.value.code
        await check_webhook_url("http://localhost:9/", AddressPolicy(["LOCALHOST"]))
        with receiver() as (port, script):
            outcome = await WebhookSender(AddressPolicy(["localhost"]), FAST).deliver(
                WebhookTarget(url=f"http://localhost:{port}/"), "report.ready", "d", BODY)
        assert outcome.delivered and script.received[0].headers["host"] == f"localhost:{port}"

    @pytest.mark.parametrize("url", [
        "http://10.1.2.3/", "http://192.168.0.1:8080/", "http://169.254.169.254/latest",
        "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://224.0.0.1/", "http://0.0.0.0/",
        "http://100.64.0.1/",
    ])
    async def test_internal_addresses_are_refused_on_save(self, url: str) -> None:
        with pytest.raises(UnsafeTarget):
            await check_webhook_url(url, AddressPolicy())

    async def test_a_public_address_passes_the_save_check(self) -> None:
        await check_webhook_url("https://93.184.215.14/hook", AddressPolicy())

    async def test_a_redirect_to_an_internal_address_is_refused(self) -> None:
        """An allowed host redirecting to 127.0.0.1 (not allowed): the hop is refused on
        the address it would connect to, and the second receiver never hears of it."""
        with receiver() as (inner_port, inner), \
                receiver(Script(redirect_to=f"http://127.0.0.1:{inner_port}/x")) as (port, _):
            outcome = await WebhookSender(AddressPolicy(["localhost"]), FAST).deliver(
                WebhookTarget(url=f"http://localhost:{port}/"), "alert.firing", "d", BODY)
        assert [t.result for t in outcome.tries] == ["refused"]
        assert "loopback" in (outcome.last_error or "") and inner.received == []

    async def test_307_is_followed_with_the_same_post(self) -> None:
        """A 307 to an allowed address is followed: same method, body and headers."""
        with receiver() as (inner_port, inner), \
                receiver(Script(redirect_to=f"http://127.0.0.1:{inner_port}/moved")) as (port, _):
            outcome = await WebhookSender(LOOPBACK, FAST).deliver(
                WebhookTarget(url=f"http://localhost:{port}/", secret="k"), "report.ready",
                "dlv-r", BODY)
        assert outcome.delivered and len(outcome.tries) == 1
        (got,) = inner.received
        assert (got.method, got.path, got.body) == ("POST", "/moved", BODY)
        assert got.headers["chanalytics-delivery"] == "dlv-r"

    async def test_a_302_is_not_followed(self) -> None:
        """A 302 would turn the POST into a GET and lose the payload: a failed try."""
        with receiver() as (inner_port, inner), receiver(Script(
                redirect_to=f"http://127.0.0.1:{inner_port}/", redirect_status=302)) as (port, _):
            outcome = await WebhookSender(LOOPBACK, RetryPolicy(tries=1)).deliver(
                WebhookTarget(url=f"http://127.0.0.1:{port}/"), "report.ready", "d", BODY)
        assert outcome.tries[0].status == 302 and not outcome.delivered
        assert inner.received == []


@pytest.fixture
def localhost_cert(tmp_path: Path) -> tuple[Path, Path]:
    return localhost_certificate(tmp_path)


class TestTls:
    async def test_a_redirect_from_https_to_http_is_refused(
            self, localhost_cert: tuple[Path, Path]) -> None:
        """The payload and its signature never leave TLS because of a redirect."""
        cert, key = localhost_cert
        server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_tls.load_cert_chain(cert, key)
        sender = WebhookSender(LOOPBACK, RetryPolicy(tries=1, timeout=5),
                               ssl_context=ssl.create_default_context(cafile=str(cert)))
        with receiver() as (plain_port, plain), receiver(
                Script(redirect_to=f"http://localhost:{plain_port}/"), tls=server_tls) as (port, _):
            outcome = await sender.deliver(WebhookTarget(url=f"https://localhost:{port}/"),
                                           "report.ready", "d", BODY)
        assert outcome.tries[0].result == "refused" and plain.received == []
        assert "https to http" in (outcome.last_error or "")


    async def test_https_by_checked_address_still_verifies_the_name(
            self, localhost_cert: tuple[Path, Path]) -> None:
        """Connecting to the checked IP keeps TLS right: the certificate is verified
        against the URL's host (sent as SNI), so `localhost` passes and the same server
        reached as `127.0.0.1` (not in the certificate) fails."""
        cert, key = localhost_cert
        server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_tls.load_cert_chain(cert, key)
        snis: list[str | None] = []
        server_tls.sni_callback = lambda _s, name, _c: snis.append(name)  # type: ignore[assignment,func-returns-value]
        client_tls = ssl.create_default_context(cafile=str(cert))
        sender = WebhookSender(LOOPBACK, RetryPolicy(tries=1, timeout=5),
                               ssl_context=client_tls)
        with receiver(tls=server_tls) as (port, script):
            by_name = await sender.deliver(WebhookTarget(url=f"https://localhost:{port}/"),
                                           "report.ready", "d1", BODY)
            by_ip = await sender.deliver(WebhookTarget(url=f"https://127.0.0.1:{port}/"),
                                         "report.ready", "d2", BODY)
        assert by_name.delivered and by_name.tries[0].address == "127.0.0.1"
        assert "localhost" in snis and len(script.received) == 1
        assert not by_ip.delivered


class TestSecrets:
    async def test_the_secret_never_reaches_logs_or_reprs(self) -> None:
        """Neither the secret nor the URL's path and query appear in log events, reprs
        or the recorded tries."""
        with receiver(Script(fail_first=1)) as (port, _), \
                structlog.testing.capture_logs() as logs:
            target = WebhookTarget(url=f"http://127.0.0.1:{port}/p?token=tok", secret="s3cr3t")
            outcome = await WebhookSender(LOOPBACK, FAST, sleep=_Sleeps()).deliver(
                target, "report.ready", "d", BODY)
        assert logs and outcome.delivered
        shown = repr(logs) + repr(target) + str(target) + repr(outcome)
        assert "s3cr3t" not in shown and "token=tok" not in repr(logs)
        assert target.public() == {"url": target.url, "hasSecret": True}
