"""Alert rules and alerts under `/api/v1/analytics/alerts` (`docs/alerts.md`): a handler
parses, calls the store or the evaluator, and encodes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.openapi import ResponseSpec
from litestar.params import PathParameter, QueryParameter

from chanalytics.alerts.evaluate import evaluate
from chanalytics.alerts.model import AlertsData
from chanalytics.alerts.rules import MAX_RULES, RuleBody, RulesData, RuleView, parse_rule
from chanalytics.alerts.store import AlertStore
from chanalytics.api.analytics import Envelope
from chanalytics.api.body_docs import request_body
from chanalytics.api.examples import answered
from chanalytics.api.parameters import ERROR_RESPONSES, Cursor, PageLimit, not_found
from chanalytics.deliveries import AddressPolicy
from chanalytics.localtime import utc_text
from chanalytics.query.engine import Engine
from chanalytics.query.errors import BadParameter
from chanalytics.query.filters import parse_page_limit
from chanalytics.query.presets.realtime import PipelineLag

RULE_BODY = request_body(RuleBody, {
    "Email delivery rate below 90% over an hour": {
        "name": "email delivery dropped", "metric": "deliveryRate", "channel": "email",
        "operator": "<", "threshold": 90, "windowMinutes": 60, "minVolume": 50,
        "deliveries": [{"webhook": {"url": "https://hooks.example.com/alerts",
                                    "secret": "s3cret"}},
                       {"email": {"to": ["ops@example.com"]}}]}},
    "`metric`: a metric of POST /query or `ingestLagSeconds`; `operator` one of > >= < <=; "
    "`windowMinutes` 5 to 1440; `minVolume` (default 20): a rate is not judged over fewer "
    "of its denominator. Any other key answers 400 naming it.")

RuleId = Annotated[str, PathParameter(description="the rule's id", max_length=100)]
StateParam = Annotated[str | None, QueryParameter(
    name="state", description="only alerts in this state: `firing` or `resolved`")]
KindParam = Annotated[str | None, QueryParameter(
    name="kind", description="only alerts of this kind: `rule`, `anomaly` or `budget`")]
STATES, KINDS = ("firing", "resolved"), ("rule", "anomaly", "budget")


def _one_of(value: str | None, allowed: tuple[str, ...], name: str) -> str | None:
    if value is None or value in allowed:
        return value
    raise BadParameter("invalid_parameter", f"{name} must be one of {'|'.join(allowed)}", name)


class Reading(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """`POST /alerts/rules/{id}/test`: the value now, and whether the rule would fire."""

    rule_id: str
    evaluated_at: str
    value: float | None
    volume: int | None
    holds: bool | None
    reason: str | None


# A rule's id the tenant does not have (another tenant's included): 404 with the envelope.
RULE_ERRORS = {**ERROR_RESPONSES, **not_found("No such rule (of this tenant).", "no such rule")}


def _created() -> dict[int, ResponseSpec]:
    """The 201 of `POST /rules`, with the recorded example of a rule."""
    found = answered("alertRule", Envelope[RuleView], "The stored rule")
    return {**ERROR_RESPONSES, 201: found[200]}


class AlertsController(Controller):
    """The caller's alert rules and alerts."""

    path = "/api/v1/analytics/alerts"
    tags = ("alerts",)
    security = ({"bearerAuth": []},)

    @post("/rules", summary="Create an alert rule", status_code=201,
          responses=_created(), request_body=RULE_BODY)
    async def create_rule(self, request: Request[Any, Any, State],
                          alerts: NamedDependency[AlertStore],
                          webhook_policy: NamedDependency[AddressPolicy],
                          now: NamedDependency[datetime],
                          tenant_id: NamedDependency[str]) -> Envelope[RuleView]:
        """Answers the stored rule (a webhook's secret only as `hasSecret`)."""
        rule = await parse_rule(await request.body(), webhook_policy, now)
        if len(await alerts.rules(tenant_id)) >= MAX_RULES:
            raise BadParameter("too_many_rules", f"at most {MAX_RULES} rules", "body")
        await alerts.put_rule(tenant_id, rule)
        return Envelope(data=rule.public())

    @get("/rules", summary="The tenant's alert rules",
         responses=answered("alertRules", Envelope[RulesData]))
    async def list_rules(self, alerts: NamedDependency[AlertStore],
                         tenant_id: NamedDependency[str]) -> Envelope[RulesData]:
        found = await alerts.rules(tenant_id)
        return Envelope(data=RulesData(items=[r.public() for _, r in found]))

    @get("/rules/{rule_id:str}", summary="One alert rule",
         responses=answered("alertRule", Envelope[RuleView], errors=RULE_ERRORS))
    async def get_rule(self, rule_id: RuleId, alerts: NamedDependency[AlertStore],
                       tenant_id: NamedDependency[str]) -> Envelope[RuleView]:
        rule = await alerts.rule(tenant_id, rule_id)
        if rule is None:
            raise NotFoundException("no such rule")
        return Envelope(data=rule.public())

    @put("/rules/{rule_id:str}", summary="Replace an alert rule",
         responses=answered("alertRule", Envelope[RuleView], errors=RULE_ERRORS),
         request_body=RULE_BODY)
    async def put_rule(self, rule_id: RuleId, request: Request[Any, Any, State],
                       alerts: NamedDependency[AlertStore],
                       webhook_policy: NamedDependency[AddressPolicy],
                       now: NamedDependency[datetime],
                       tenant_id: NamedDependency[str]) -> Envelope[RuleView]:
        """The whole rule again (its id and creation kept); an episode in progress goes
        on under the new condition."""
        found = await alerts.rule(tenant_id, rule_id)
        if found is None:
            raise NotFoundException("no such rule")
        rule = await parse_rule(await request.body(), webhook_policy, now, rule_id=rule_id,
                                created_at=found.created_at)
        await alerts.put_rule(tenant_id, rule)
        return Envelope(data=rule.public())

    @delete("/rules/{rule_id:str}", summary="Delete an alert rule", status_code=204,
            responses=RULE_ERRORS)
    async def delete_rule(self, rule_id: RuleId, alerts: NamedDependency[AlertStore],
                          tenant_id: NamedDependency[str]) -> None:
        """An alert of it still firing resolves at the next evaluation."""
        found = await alerts.rule(tenant_id, rule_id)
        if found is None:
            raise NotFoundException("no such rule")
        await alerts.put_rule(tenant_id, found, deleted=True)

    @post("/rules/{rule_id:str}/test", summary="Evaluate a rule now, deliver nothing",
          status_code=200,
          responses=answered("alertRuleTest", Envelope[Reading], errors=RULE_ERRORS))
    async def test_rule(self, rule_id: RuleId, alerts: NamedDependency[AlertStore],
                        engine: NamedDependency[Engine], now: NamedDependency[datetime],
                        pipeline_lag: NamedDependency[PipelineLag | None],
                        tenant_id: NamedDependency[str]) -> Envelope[Reading]:
        rule = await alerts.rule(tenant_id, rule_id)
        if rule is None:
            raise NotFoundException("no such rule")
        found = (await evaluate(engine, [(tenant_id, rule)], now, pipeline_lag))[
            (tenant_id, rule_id)]
        return Envelope(data=Reading(
            rule_id=rule_id, evaluated_at=utc_text(now), value=found.value,
            volume=found.volume,
            holds=None if found.value is None else rule.holds(found.value),
            reason=found.reason or None))

    @get("/", summary="The tenant's alerts, newest first",
         responses=answered("alerts", Envelope[AlertsData]))
    async def list_alerts(self, alerts: NamedDependency[AlertStore],
                          tenant_id: NamedDependency[str], alert_state: StateParam = None,
                          kind: KindParam = None, limit: PageLimit = None,
                          cursor: Cursor = None) -> Envelope[AlertsData]:
        """Each alert an episode: `firing` from its start, `resolved` at its end; pages of
        `limit` (default 100) by `nextCursor`."""
        items, following = await alerts.page(tenant_id, state=_one_of(alert_state, STATES, "state"),
                                              kind=_one_of(kind, KINDS, "kind"),
                                              limit=parse_page_limit(limit), cursor=cursor)
        return Envelope(data=AlertsData(items=[a.public() for a in items],
                                        next_cursor=following))
