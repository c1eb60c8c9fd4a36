"""Where a JetStream message stands: its stream sequence and how often it was delivered.

Both are in the message's ack subject. nats-py's `Msg.metadata` parses the whole
subject into dataclasses and a datetime on every access — 8% of the ingest loop's
time in a 1M-event profile (`bench/ingest_bench.py --profile`); the loop needs two
integers.
"""

from __future__ import annotations

from typing import NamedTuple

# $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending>
_V1_TOKENS, _V1_DELIVERED, _V1_STREAM_SEQ = 9, 4, 5
# $JS.ACK.<domain>.<account hash>.<stream>.<consumer>.<delivered>.<stream seq>.… (servers
# that put a domain in the subject; 12 tokens, or more in later versions)
_V2_MIN_TOKENS, _V2_DELIVERED, _V2_STREAM_SEQ = 11, 6, 7


class Delivery(NamedTuple):
    stream_seq: int
    delivered: int


def delivery_of(reply: str) -> Delivery:
    """The stream sequence and delivery count in a JetStream ack subject."""
    tokens = reply.split(".")
    if len(tokens) >= 2 and tokens[0] == "$JS" and tokens[1] == "ACK":
        if len(tokens) == _V1_TOKENS:
            return Delivery(int(tokens[_V1_STREAM_SEQ]), int(tokens[_V1_DELIVERED]))
        if len(tokens) >= _V2_MIN_TOKENS:
            return Delivery(int(tokens[_V2_STREAM_SEQ]), int(tokens[_V2_DELIVERED]))
    raise ValueError(f"not a JetStream ack subject: {reply!r}")
