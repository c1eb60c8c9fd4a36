"""The dimensions rows can be grouped and filtered by, each defined once.

A dimension is an SQL expression over the unified columns (`tables.py`); its *empty*
value (`''`, or step 0) means "absent" and is answered as null. `time`, `hourOfDay` and
`dayOfWeek` read the 15-minute bucket of a row in the query's zone, which is exact: a
15-minute UTC bucket lies inside one local hour of every zone (`clickhouse/README.md`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import msgspec

# Devices from a user agent, in the contract's order of tests.
_DEVICE = (
    "if(event_type IN ('message_opened', 'message_clicked'), multiIf("
    "user_agent = '', 'unknown', "
    "positionCaseInsensitive(user_agent, 'mobile') > 0, 'mobile', "
    "positionCaseInsensitive(user_agent, 'tablet') > 0 "
    "OR positionCaseInsensitive(user_agent, 'ipad') > 0, 'tablet', 'desktop'), '')"
)


class Dimension(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    sql: str  # over unified columns
    columns: frozenset[str]
    entity: str = ""  # the `entity_names` kind naming its values
    # What answers "absent" (null), or None when every value is a real one.
    empty: str | int | None = ""
    # Reads the 15-minute bucket in the query's zone: decides whether daily rows may answer.
    clock: bool = False
    public: bool = True  # offered by the report API (`POST /query`)
    # The request parameter (`campaignId`, `GET /events`) that keeps one of its values.
    parameter: str = ""


def _column(name: str, column: str, *, entity: str = "", empty: str | int = "",
            public: bool = True, parameter: str = "") -> Dimension:
    return Dimension(name=name, sql=column, columns=frozenset({column}), entity=entity,
                     empty=empty, public=public, parameter=parameter)


_DIMENSIONS = (
    # `time`'s SQL is the query's local-bucket expression (`buckets.LocalBuckets.sql`).
    Dimension(name="time", sql="", columns=frozenset({"bucket"}), empty=None, clock=True),
    Dimension(name="hourOfDay", sql="toHour(bucket, {tz:String})",
              columns=frozenset({"bucket"}), empty=None, clock=True),
    Dimension(name="dayOfWeek", sql="toDayOfWeek(bucket, 0, {tz:String})",
              columns=frozenset({"bucket"}), empty=None, clock=True),
    _column("channel", "channel", parameter="channel"),
    Dimension(name="provider",
              sql="if(startsWith(event_type, 'message_'), "
                  "if(provider = '', 'unknown', provider), '')",
              columns=frozenset({"provider"}), parameter="provider"),
    _column("campaign", "campaign_id", entity="campaign", parameter="campaignId"),
    _column("template", "template_id", entity="template", parameter="templateId"),
    _column("workflow", "workflow_id", entity="workflow", parameter="workflowId"),
    _column("sequence", "sequence_id", entity="sequence", parameter="sequenceId"),
    _column("eventType", "event_type"),
    _column("errorCode", "error_code"),
    Dimension(name="bounceType",
              sql="if(event_type = 'message_bounced', "
                  "if(bounce_type = '', 'unknown', bounce_type), '')",
              columns=frozenset({"bounce_type"})),
    _column("country", "geo_country"),
    # A city is read beside its country (`/campaigns/{campaignId}`'s geo), not alone.
    _column("city", "geo_city", public=False),
    Dimension(name="device", sql=_DEVICE, columns=frozenset({"user_agent"})),
    _column("url", "url"),
    # For the endpoints only: a sequence's step, a workflow run's outcome.
    _column("step", "step_number", empty=0, public=False),
    # For a query of several tenants (`Query.tenants`): whose rows.
    Dimension(name="tenant", sql="tenant_id", columns=frozenset({"tenant_id"}), empty=None,
              public=False),
)

DIMENSIONS: Mapping[str, Dimension] = MappingProxyType({d.name: d for d in _DIMENSIONS})
# Parameter -> the raw column an exact-match filter compares (`GET /events`): each
# dimension's own column (the provider as stored, not its `unknown`), and the ids no
# dimension groups by.
FILTER_COLUMNS: Mapping[str, str] = MappingProxyType({
    **{d.parameter: next(iter(d.columns)) for d in _DIMENSIONS if d.parameter},
    "contactId": "contact_id", "entityId": "entity_id",
})
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
