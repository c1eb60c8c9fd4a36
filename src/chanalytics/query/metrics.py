"""The catalogue: every metric, rate, score and projection an answer holds, each named
and defined once over the measures (its formula from `formulas.py`).

`METRICS` are the ones `POST /query` answers (`docs/reports.md`); `CATALOGUE` holds those
and the endpoints' own (`hardBounceRate`, `replyRate`, the provider score, the budget's
numbers …), `MEANS` the means of a rate over rows. Presets choose and shape: they ask
the catalogue for a value and never compute one, so the same question gets the same
number from every endpoint, and `compare` reads each number's change rule here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from chanalytics.query.formulas import (
    ColumnType,
    Metric,
    RateMean,
    Values,
    age_seconds,
    average,
    budget_projection,
    budget_status,
    budget_used,
    cost_total,
    count,
    millis_as_seconds,
    percentile,
    provider_score,
    rate,
    round_decimal,
)

__all__ = ["CATALOGUE", "FIELDS", "MEANS", "METRICS", "ColumnType", "Metric", "RateMean",
           "entry", "metric_values", "round_decimal"]

_RATES = {r.name: r for r in (
    rate("deliveryRate", "delivered", "sent"),
    rate("failureRate", "failed", "sent"),
    rate("bounceRate", "bounced", "sent"),
    rate("hardBounceRate", "hard_bounced", "sent"),
    rate("complaintRate", "complained", "delivered"),
    rate("unsubscribeRate", "unsubscribed", "delivered"),
    rate("openRate", "opened", "delivered"),
    rate("humanOpenRate", "human_opened", "delivered"),
    rate("clickRate", "clicked", "delivered"),
    rate("clickToOpenRate", "clicked", "opened"),
    rate("replyRate", "replied", "enrolled"),
    rate("completionRate", "runs_completed", "runs_started"),
    rate("conversionRate", "runs_goal_reached", "runs_completed"),
)}

CATALOGUE: Mapping[str, Metric] = MappingProxyType({m.name: m for m in (
    count("sent"), count("delivered"), count("failed"), count("bounced"),
    count("hardBounced", "hard_bounced"), count("softBounced", "soft_bounced"),
    count("complained"), count("unsubscribed"),
    count("opened"), count("clicked"), count("humanOpened", "human_opened"),
    count("uniqueContacts", "contacts"), count("recipients"),
    # A campaign's audience (`/campaigns/{campaignId}`): distinct contacts sent to, among
    # opens and among clicks; and events, where a list counts them (opens per device, clicks
    # per link) beside their distinct messages.
    count("uniqueRecipients", "recipients"), count("uniqueOpeners", "openers"),
    count("uniqueClickers", "clickers"), count("opens", "open_events"),
    count("clicks", "click_events"), count("uniqueClicks", "clicked"),
    *_RATES.values(),
    cost_total("totalCost"),
    count("costedMessages", "costed"),
    average("avgCostPerMessage", "cost", "costed", 6, "cost"),
    count("latencySamples", "samples"),
    average("avgDeliveryMs", "duration_sum", "samples", 1, "average"),
    percentile("p50DeliveryMs", 0), percentile("p95DeliveryMs", 1),
    percentile("p99DeliveryMs", 2),
    provider_score("providerScore"),
    count("workflowRuns", "runs_started"),
    count("workflowCompleted", "runs_completed"),
    count("workflowFailed", "runs_failed"),
    count("workflowGoals", "runs_goal_reached"),
    count("enrollments", "enrolled"),
    count("repliedEnrollments", "replied"),
    count("completedEnrollments", "enrollments_completed"),
    count("activeEnrollments", "active_enrollments"),
    count("stepsExecuted", "steps_executed"),
    # Read from the suppressions (`suppressions.py`), not from a measure.
    count("suppressedContacts", "suppressed_contacts"),
    budget_used("percentUsed"),
    budget_projection("projectedSpend"),
    budget_status("budgetStatus"),
    # Service-wide: how long the oldest published message has waited to be stored, an
    # input of `presets/realtime.py` read from the NATS consumer (`nats/lag.py`).
    age_seconds("pipelineLagSeconds", "lag_seconds"),
    # The tenant's own requests to the API (`presets/api_usage.py`, read from
    # `api_requests`): a request latency's mean and sketch, not a delivery's.
    count("apiRequests", "requests"), count("apiErrors", "errors"),
    rate("errorRate", "errors", "requests"),
    average("avgRequestMs", "request_ms_sum", "requests", 1, "average"),
    percentile("p95RequestMs", 1),
    # Funnels (`funnel.py`): a step's messages (or runs) over the step before it and over
    # the first step, and the lower median of the time from the first step to this one;
    # cohorts (`cohorts.py`): a cohort's contacts engaged in a week over the cohort.
    rate("stepConversionRate", "step", "previous_step"),
    rate("stepOverallRate", "step", "first_step"),
    millis_as_seconds("medianSeconds", "median_ms"),
    rate("retentionRate", "engaged", "contacts"),
)})
"""Every derived number of a result row, by name."""

MEANS: Mapping[str, RateMean] = MappingProxyType({m.name: m for m in (
    RateMean("avgOpenRate", _RATES["openRate"]),
    RateMean("avgClickRate", _RATES["clickRate"]),
)})
"""Means of a rate over rows (a campaign summary's), by name."""

# What `POST /query` answers, in the order of `docs/reports.md`.
REPORTED = (
    "sent", "delivered", "failed", "bounced", "hardBounced", "complained", "unsubscribed",
    "opened", "clicked", "humanOpened", "uniqueContacts", "deliveryRate", "failureRate",
    "bounceRate", "complaintRate", "unsubscribeRate", "openRate", "humanOpenRate",
    "clickRate", "clickToOpenRate", "totalCost", "avgCostPerMessage", "avgDeliveryMs",
    "p50DeliveryMs", "p95DeliveryMs", "p99DeliveryMs", "workflowRuns", "workflowCompleted",
    "workflowFailed", "workflowGoals", "enrollments", "repliedEnrollments",
)
METRICS: Mapping[str, Metric] = MappingProxyType({n: CATALOGUE[n] for n in REPORTED})

# An endpoint's field where its name is not the catalogue's (`docs/api.md`,
# `docs/delivery.md`); every other field is named as its entry. The one place these
# names meet, so `compare` and the tests resolve a field the same way.
FIELDS: Mapping[str, str] = MappingProxyType({
    "totalMessagesSent": "sent", "totalDelivered": "delivered",
    "totalOpened": "opened", "totalClicked": "clicked",
    "totalRecipients": "recipients", "usageCount": "sent", "messages": "sent",
    "totalRuns": "workflowRuns", "runs": "workflowRuns",
    "completedRuns": "workflowCompleted", "failedRuns": "workflowFailed",
    "goalReachedRuns": "workflowGoals",
    "avgCompletionRate": "completionRate", "avgConversionRate": "conversionRate",
    "totalEnrollments": "enrollments", "replied": "repliedEnrollments",
    "avgReplyRate": "replyRate", "executed": "stepsExecuted",
    "samples": "latencySamples", "avgMs": "avgDeliveryMs", "p50Ms": "p50DeliveryMs",
    "p95Ms": "p95DeliveryMs", "p99Ms": "p99DeliveryMs",
    "total": "totalCost", "spent": "totalCost", "score": "providerScore",
    "overallRate": "stepOverallRate",
})


def entry(field: str) -> Metric | RateMean | None:
    """The catalogue entry an answer's field (or a report's metric) holds, if any."""
    name = FIELDS.get(field, field)
    return CATALOGUE.get(name) or MEANS.get(name)


def metric_values(row: Values, **fields: str) -> dict[str, Any]:
    """`{field: value}` of the catalogue's metric named for each field, over one row."""
    return {field: CATALOGUE[name].value(row) for field, name in fields.items()}
