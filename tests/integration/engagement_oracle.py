"""The engagement score of `contract/API-AUDIENCE.md` in plain Python, over the contract
events themselves: no SQL, nothing of `chanalytics`.

The caller passes the events stored before `as_of` (it knows which were); everything
else is read from the contract text:
- points per event type; each event counts (three opens of one message are three);
- the decay `max(0.1, 1 - d / 90)` over the 90 UTC dates ending with `as_of`'s, `d` the
  days from the event's UTC date to `as_of`'s; other dates (older, or later) count nothing;
- `round_half_up` of the exact sum; levels high >= 100, medium 50-99, low 10-49,
  inactive 0-9;
- `lastEngagementAt`: the latest timestamp of any event naming the contact, all time;
- a contact is known once any event names it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

from oracle import Event, utc_text

POINTS = {"message_delivered": 1, "message_opened": 5, "message_clicked": 10,
          "sequence_enrollment_replied": 15, "workflow_run_goal_reached": 50}
BREAKDOWN = {"message_delivered": "delivered", "message_opened": "opened",
             "message_clicked": "clicked", "sequence_enrollment_replied": "replied",
             "workflow_run_goal_reached": "converted"}
LEVELS = ("high", "medium", "low", "inactive")


def level(score: int) -> str:
    if score >= 100:
        return "high"
    if score >= 50:
        return "medium"
    return "low" if score >= 10 else "inactive"


def _contact(event: Event) -> str | None:
    found = event.data.get("contactId")
    return found if isinstance(found, str) and found else None


def _own(events: Iterable[Event], tenant: str) -> dict[str, list[Event]]:
    by_contact: dict[str, list[Event]] = {}
    for event in events:
        contact = _contact(event)
        if event.tenant == tenant and contact is not None:
            by_contact.setdefault(contact, []).append(event)
    return by_contact


def _score_and_counts(events: list[Event], as_of: datetime) -> tuple[int, dict[str, int]]:
    today = as_of.astimezone(UTC).date()
    total = Fraction(0)
    counts = dict.fromkeys(BREAKDOWN.values(), 0)
    for event in events:
        d = (today - event.at.astimezone(UTC).date()).days
        if not 0 <= d <= 89 or event.type not in POINTS:
            continue
        total += POINTS[event.type] * max(Fraction(1, 10), 1 - Fraction(d, 90))
        counts[BREAKDOWN[event.type]] += 1
    return math.floor(total + Fraction(1, 2)), counts


def contact(events: Iterable[Event], tenant: str, contact_id: str,
            as_of: datetime) -> dict[str, Any]:
    """`data` of `GET /contacts/{contactId}/engagement`."""
    own = _own(events, tenant).get(contact_id, [])
    score, counts = _score_and_counts(own, as_of)
    last = max((e.at for e in own), default=None)
    return {"contactId": contact_id, "score": score, "level": level(score),
            "lastEngagementAt": None if last is None else utc_text(last),
            "breakdown": counts, "asOf": utc_text(as_of)}


def tenant(events: Iterable[Event], tenant_id: str, as_of: datetime,
           only: str | None = None) -> dict[str, Any]:
    """`data` of `GET /engagement` but for paging: `levels` and the whole ranking."""
    rows = []
    for contact_id, own in _own(events, tenant_id).items():
        score, _ = _score_and_counts(own, as_of)
        rows.append({"contactId": contact_id, "score": score, "level": level(score),
                     "lastEngagementAt": utc_text(max(e.at for e in own))})
    rows.sort(key=lambda r: (-r["score"], r["contactId"]))
    levels = dict.fromkeys(LEVELS, 0)
    for row in rows:
        levels[row["level"]] += 1
    return {"levels": levels,
            "contacts": [r for r in rows if only is None or r["level"] == only],
            "asOf": utc_text(as_of)}


def noon(today: datetime, days_back: int) -> datetime:
    """Noon UTC `days_back` UTC dates before `today`'s."""
    start = today.astimezone(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    return start - timedelta(days=days_back)
