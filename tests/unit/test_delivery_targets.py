"""Delivery targets are decoded strictly and checked before anything is sent."""

from __future__ import annotations

import ipaddress

import msgspec
import pytest

from chanalytics.deliveries import AddressPolicy, Delivery, RetryPolicy, UnsafeTarget, WebhookTarget
from chanalytics.deliveries.attempts import TryAnswer, deliver_with_retries
from chanalytics.deliveries.safety import address_kind
from chanalytics.query.body import BodyDecoder
from chanalytics.query.errors import BadParameter


class RuleBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    deliveries: list[Delivery]


DECODER = BodyDecoder(RuleBody, code="invalid_rule")


class TestDecoding:
    def test_both_channels(self) -> None:
        """A webhook and an e-mail delivery decode into their typed targets."""
        body = DECODER.decode(b'{"deliveries": [{"webhook": {"url": "https://h.example/x",'
                              b' "secret": "k"}}, {"email": {"to": ["ops@example.com"]}}]}')
        webhook, email = body.deliveries
        assert webhook.channel == "webhook" and webhook.webhook is not None
        assert webhook.webhook.secret == "k" and webhook.webhook.origin == "https://h.example"
        assert email.channel == "email" and email.email is not None
        assert email.email.to == ["ops@example.com"]

    @pytest.mark.parametrize(("raw", "field"), [
        (b'{"deliveries": [{"webhook": {"url": "https://h", "secrt": "k"}}]}',
         "deliveries[0].webhook.secrt"),
        (b'{"deliveries": [{"email": {"to": ["a@b.c"], "cc": []}}]}', "deliveries[0].email.cc"),
        (b'{"deliveries": [{"sms": {}}]}', "deliveries[0].sms"),
        (b'{"deliveries": [{"webhook": {}}]}', "deliveries[0].webhook.url"),
    ])
    def test_unknown_or_missing_keys_name_the_field(self, raw: bytes, field: str) -> None:
        with pytest.raises(BadParameter) as caught:
            DECODER.decode(raw)
        assert (caught.value.code, caught.value.field) == ("invalid_rule", field)

    @pytest.mark.parametrize(("raw", "words"), [
        (b'{"webhook": {"url": "ftp://h.example/"}}', "http"),
        (b'{"webhook": {"url": "file:///etc/passwd"}}', "http"),
        (b'{"webhook": {"url": "https://u:p@h.example/"}}', "credentials"),
        (b'{"webhook": {"url": "https:///nohost"}}', "host"),
        (b'{"webhook": {"url": "https://h.example:99999/"}}', "port"),
        (b'{"email": {"to": []}}', "length"),
        (b'{"email": {"to": ["not-an-address"]}}', "e-mail"),
        (b'{"email": {"to": ["a@b.c\\r\\nBcc: x@y.z"]}}', "e-mail"),
        (b'{}', "exactly one"),
        (b'{"webhook": {"url": "https://h"}, "email": {"to": ["a@b.c"]}}', "exactly one"),
    ])
    def test_invalid_targets_are_refused(self, raw: bytes, words: str) -> None:
        with pytest.raises(BadParameter, match=words):
            BodyDecoder(Delivery).decode(raw)


class TestAddresses:
    @pytest.mark.parametrize(("address", "kind"), [
        ("127.0.0.1", "loopback"), ("::1", "loopback"), ("::ffff:127.0.0.1", "loopback"),
        ("10.0.0.1", "private"), ("172.16.5.4", "private"), ("192.168.1.1", "private"),
        ("fd00::1", "private"), ("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
        ("224.0.0.251", "multicast"), ("ff02::1", "multicast"), ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "non-global"), ("8.8.8.8", None), ("2606:4700:4700::1111", None),
    ])
    def test_kinds(self, address: str, kind: str | None) -> None:
        assert address_kind(ipaddress.ip_address(address)) == kind

    def test_the_allow_list_exempts_a_host_by_name(self) -> None:
        """Allow-listed hosts pass whatever they resolve to; others are refused."""
        policy = AddressPolicy.from_setting(" Hooks.Internal ,10.0.0.5,")
        private = [ipaddress.ip_address("10.0.0.5")]
        policy.check("hooks.internal", private)
        policy.check("10.0.0.5", private)
        with pytest.raises(UnsafeTarget, match="ALLOW_HOSTS"):
            policy.check("other.internal", private)


def test_reprs_hide_the_secret() -> None:
    target = WebhookTarget(url="https://h.example/", secret="s3cr3t")
    assert "s3cr3t" not in repr(target) and "s3cr3t" not in str(target)
    assert "s3cr3t" not in repr(Delivery(webhook=target))
    assert Delivery(webhook=target).public() == {
        "webhook": {"url": "https://h.example/", "hasSecret": True}}


class TestTries:
    async def test_an_unforeseen_fault_is_a_recorded_failed_try(self) -> None:
        """A sender that raises something unexpected does not lose the tries' records."""
        calls: list[int] = []

        async def attempt() -> TryAnswer:
            calls.append(1)
            if len(calls) == 1:
                raise KeyError("boom")
            return TryAnswer(result="delivered", status=204)

        async def no_wait(_seconds: float) -> None:
            return None

        outcome = await deliver_with_retries(
            "webhook", "d", attempt, RetryPolicy(tries=3, first_delay=0.0), no_wait)
        assert [t.result for t in outcome.tries] == ["failed", "delivered"]
        assert outcome.tries[0].error == "unexpected KeyError" and outcome.delivered
