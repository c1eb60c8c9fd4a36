"""An alert rule: its body as sent (decoded strictly, every fault a 400 naming the field),
and the rule as stored and answered.

`metric` is any metric of `POST /query` (the catalogue's `METRICS`) or `ingestLagSeconds`
(the pipeline's lag, service-wide: it takes no channel or provider). A rate's
denominator, the measure `minVolume` is compared with, is the catalogue's
(`Metric.denominator`), never named here.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from chanalytics.deliveries import AddressPolicy, Delivery, check_webhook_url
from chanalytics.localtime import utc_text
from chanalytics.query.body import BodyDecoder
from chanalytics.query.errors import BadParameter
from chanalytics.query.filters import parse_channel, parse_provider
from chanalytics.query.metrics import METRICS, Metric

Operator = Literal[">", ">=", "<", "<="]
INGEST_LAG = "ingestLagSeconds"
MAX_DELIVERIES = 10
MAX_RULES = 100  # per tenant


def _doc(text: str) -> msgspec.Meta:
    return msgspec.Meta(description=text)


class RuleBody(msgspec.Struct, frozen=True, kw_only=True, rename="camel",
               forbid_unknown_fields=True):
    """`POST /alerts/rules` and `PUT /alerts/rules/{id}`."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    metric: Annotated[str, _doc("a metric of POST /query, or `ingestLagSeconds`")]
    operator: Operator
    threshold: float
    window_minutes: Annotated[int, msgspec.Meta(ge=5, le=1440)]
    channel: str | None = None
    provider: Annotated[str, msgspec.Meta(min_length=1, max_length=256)] | None = None
    min_volume: Annotated[int, msgspec.Meta(ge=0, le=10**9)] = 20
    deliveries: Annotated[list[Delivery], msgspec.Meta(max_length=MAX_DELIVERIES)] = \
        msgspec.field(default_factory=list)


class RuleView(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A rule as answered: a webhook's secret only as `hasSecret`."""

    id: str
    name: str
    metric: str
    operator: Operator
    threshold: float
    window_minutes: int
    channel: str | None
    provider: str | None
    min_volume: int
    deliveries: list[dict[str, Any]]
    created_at: str
    updated_at: str


class RulesData(msgspec.Struct, frozen=True, kw_only=True):
    items: list[RuleView]


class Rule(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A rule as stored (its deliveries' secrets included) and, through `public`, answered."""

    id: str
    name: str
    metric: str
    operator: Operator
    threshold: float
    window_minutes: int
    channel: str | None = None
    provider: str | None = None
    min_volume: int = 20
    deliveries: list[Delivery] = msgspec.field(default_factory=list)
    created_at: str = ""
    updated_at: str = ""

    @property
    def catalogued(self) -> Metric | None:
        """The catalogue's metric, None for the ingest lag."""
        return METRICS.get(self.metric)

    def holds(self, value: float) -> bool:
        match self.operator:
            case ">":
                return value > self.threshold
            case ">=":
                return value >= self.threshold
            case "<":
                return value < self.threshold
            case "<=":
                return value <= self.threshold

    def public(self) -> RuleView:
        """As answered: a webhook's secret only as `hasSecret`."""
        return RuleView(
            id=self.id, name=self.name, metric=self.metric, operator=self.operator,
            threshold=self.threshold, window_minutes=self.window_minutes,
            channel=self.channel, provider=self.provider, min_volume=self.min_volume,
            deliveries=[d.public() for d in self.deliveries], created_at=self.created_at,
            updated_at=self.updated_at)


_decoder = BodyDecoder(RuleBody, "invalid_rule")


async def parse_rule(raw: bytes, policy: AddressPolicy, now: datetime, *,
                     rule_id: str | None = None, created_at: str | None = None) -> Rule:
    """A body as a rule, checked (webhook hosts resolved and refused by `policy`)."""
    body = _decoder.decode(raw)
    if body.metric not in METRICS and body.metric != INGEST_LAG:
        raise BadParameter("unknown_metric", f"unknown metric {body.metric!r:.80}", "metric")
    if body.metric == INGEST_LAG and (body.channel or body.provider):
        raise BadParameter("invalid_rule", "ingestLagSeconds is service-wide: no channel or "
                                           "provider", "channel" if body.channel else "provider")
    channel = parse_channel(body.channel)
    provider = parse_provider(body.provider)
    for i, delivery in enumerate(body.deliveries):
        if delivery.webhook is not None:
            await check_webhook_url(delivery.webhook.url, policy,
                                    f"deliveries[{i}].webhook.url")
    stamp = utc_text(now)
    return Rule(id=rule_id or f"rule_{uuid.uuid4().hex[:20]}", name=body.name,
                metric=body.metric, operator=body.operator, threshold=body.threshold,
                window_minutes=body.window_minutes, channel=channel, provider=provider,
                min_volume=body.min_volume, deliveries=body.deliveries,
                created_at=created_at or stamp, updated_at=stamp)
