"""The stream sequence and delivery count read from a JetStream ack subject."""

from __future__ import annotations

import pytest
from nats.aio.msg import Msg

from chanalytics.ingest.delivery import Delivery, delivery_of

V1 = "$JS.ACK.ANALYTICS_SOURCE.chanalytics.3.1042.977.1795305639587000000.12"
V2 = "$JS.ACK._.ACCHASH.ANALYTICS_SOURCE.chanalytics.2.77.70.1795305639587000000.0.xyz"


class TestDeliveryOf:
    @pytest.mark.parametrize(("reply", "want"), [(V1, Delivery(1042, 3)), (V2, Delivery(77, 2))])
    def test_both_subject_forms(self, reply: str, want: Delivery) -> None:
        assert delivery_of(reply) == want

    @pytest.mark.parametrize("reply", [V1, V2])
    def test_agrees_with_nats_py(self, reply: str) -> None:
        """Same numbers as nats-py's own (slower) parser."""
        meta = Msg(_client=None, reply=reply).metadata  # type: ignore[arg-type]
        assert delivery_of(reply) == Delivery(meta.sequence.stream, meta.num_delivered)

    @pytest.mark.parametrize("reply", ["", "_INBOX.abc", "$JS.ACK.too.short"])
    def test_other_subjects_are_refused(self, reply: str) -> None:
        with pytest.raises(ValueError, match="not a JetStream ack subject"):
            delivery_of(reply)
