"""Where a report or an alert is delivered: a webhook or e-mail addresses, as typed,
strictly decoded structs.

In a rule's body a delivery is an object with one key naming its channel:
`{"webhook": {"url": …, "secret": …}}` or `{"email": {"to": […]}}`. Unknown keys are
refused (these structs forbid them, as `query/body.py` requires of every body type);
what can be checked without the network is checked on decoding, and the address check
of a webhook's host (it needs DNS) is `safety.check_webhook_url`, run when the rule is
saved and again at every delivery.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

import msgspec

Channel = Literal["webhook", "email"]
Event = Literal["report.ready", "alert.firing", "alert.resolved"]

MAX_URL = 2000
MAX_RECIPIENTS = 50
# One address as a person types it: local@domain, no spaces, no header-breaking
# characters (CR/LF, commas, angle brackets) that could add recipients or headers.
_ADDRESS = re.compile(r"[^@\s,;<>\"()\[\]\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})")


class WebhookTarget(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`POST url`; signed with `secret` (HMAC-SHA256 of the body) when one is set."""

    url: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_URL)]
    secret: Annotated[str, msgspec.Meta(max_length=200)] | None = None

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme.lower() not in ("http", "https"):
            raise ValueError("a webhook URL must be http:// or https://")
        if not parts.hostname:
            raise ValueError("a webhook URL needs a host")
        if parts.username is not None or parts.password is not None:
            raise ValueError("a webhook URL must not hold credentials: sign with `secret`")
        try:
            parts.port  # noqa: B018  (raises on a port out of range)
        except ValueError:
            raise ValueError("a webhook URL has an invalid port") from None

    def __repr__(self) -> str:  # the secret never reaches a log line or an error
        return f"WebhookTarget(url={self.url!r}, secret={'<set>' if self.secret else None})"

    __str__ = __repr__

    @property
    def origin(self) -> str:
        """scheme://host:port only: what logs and records may show (a path or a query
        string can carry a receiver's token)."""
        parts = urlsplit(self.url)
        return f"{parts.scheme.lower()}://{parts.netloc.lower()}"

    def public(self) -> dict[str, object]:
        """As an API answer shows it: the secret's presence, never its value."""
        return {"url": self.url, "hasSecret": bool(self.secret)}


Recipient = Annotated[str, msgspec.Meta(min_length=3, max_length=254)]


class EmailTarget(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An e-mail to each address of `to`."""

    to: Annotated[list[Recipient], msgspec.Meta(min_length=1, max_length=MAX_RECIPIENTS)]

    def __post_init__(self) -> None:
        for address in self.to:
            if _ADDRESS.fullmatch(address) is None:
                raise ValueError(f"not an e-mail address: {address[:100]!r}")

    def public(self) -> dict[str, object]:
        return {"to": list(self.to)}


class Delivery(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One entry of a rule's `deliveries`: exactly one of `webhook` or `email`."""

    webhook: WebhookTarget | None = None
    email: EmailTarget | None = None

    def __post_init__(self) -> None:
        if (self.webhook is None) == (self.email is None):
            raise ValueError("a delivery names exactly one channel: `webhook` or `email`")

    @property
    def channel(self) -> Channel:
        return "webhook" if self.webhook is not None else "email"

    def public(self) -> dict[str, object]:
        if self.webhook is not None:
            return {"webhook": self.webhook.public()}
        assert self.email is not None
        return {"email": self.email.public()}
