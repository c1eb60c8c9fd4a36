"""A realistic multi-tenant set of contract events for the API contract tests.

Demo stories (`DemoTraffic`) around both 2026 Berlin DST changes, plus hand-made
events: on bucket, day, week, month, DST and test-range edges (written as ISO `Z`,
epoch milliseconds and `+05:45` offsets), renamed and unnamed entities, repeated
opens and replies, active-at-the-end enrollments, and tenant B's "secrets". Some
events are delivered twice, in one batch and across batches.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from chanalytics.cli.demo import DemoTraffic
from chanalytics.clickhouse.storage import Storage
from chanalytics.ingest.writer import BatchWriter
from chanalytics.mappers import map_event
from chanalytics.metrics import Metrics

Pair = tuple[str, dict[str, Any]]

TENANTS = ("t_alpha", "t_beta", "t_gamma")  # t_gamma has data but no token
SPRING_NOW = datetime(2026, 4, 2, 13, 37, 11, 123000, tzinfo=UTC)
FALL_NOW = datetime(2026, 10, 29, 8, 5, 0, 7000, tzinfo=UTC)
B_START = datetime(2026, 10, 20, 7, 7, 13, 250000, tzinfo=UTC)
B_END = datetime(2026, 10, 28, 17, 52, 41, 500000, tzinfo=UTC)
MS = timedelta(milliseconds=1)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# Instants where a bucket, a day in some zone, a DST change or a test range begins.
EDGES = [
    *(utc(t) for t in (
        "2026-03-28T23:00:00Z",  # Berlin midnight, 29 March (CET)
        "2026-03-29T01:00:00Z",  # Berlin springs forward
        "2026-03-28T18:15:00Z",  # Kathmandu midnight
        "2026-03-29T02:30:00Z",  # St John's midnight (NDT)
        "2026-03-29T22:00:00Z",  # Berlin Monday midnight (CEST)
        "2026-03-30T10:15:00Z",  # a quarter-hour
        "2026-03-31T22:00:00Z",  # Berlin 1 April
        "2026-04-01T00:00:00Z",  # UTC 1 April
        "2026-10-24T22:00:00Z",  # Berlin midnight, 25 October (CEST)
        "2026-10-25T00:00:00Z",  # Berlin 02:00 CEST, first pass
        "2026-10-25T01:00:00Z",  # Berlin falls back: 02:00 CET, second pass
        "2026-10-25T01:30:00Z",
        "2026-10-24T18:15:00Z",  # Kathmandu midnight
        "2026-10-25T02:30:00Z",  # St John's midnight (NDT)
        "2026-10-25T23:00:00Z",  # Berlin Monday midnight (CET)
        "2026-10-31T23:00:00Z",  # Berlin 1 November
        "2026-10-25T01:01:00Z",  # the bounds of the range "inside"
        "2026-10-25T01:14:00Z",
        "2026-03-29T00:52:30.500Z",  # the start of the range "tiny"
    )),
    B_START, B_END, SPRING_NOW, FALL_NOW,
]
EDGES += [t - MS for t in EDGES]


class Maker:
    """Hand-made contract events with readable ids (unique per prefix, as ids must be)."""

    def __init__(self, prefix: str = "hand") -> None:
        self.prefix = prefix
        self.pairs: list[Pair] = []

    def add(self, subject: str, tenant: str, at: datetime, stamp: str = "iso",
            **data: Any) -> None:
        ms = at.microsecond // 1000
        timestamp: str | int
        if stamp == "epoch":
            timestamp = (at - datetime(1970, 1, 1, tzinfo=UTC)) // MS
        elif stamp == "offset":  # the same instant written in Kathmandu time
            local = at.astimezone(datetime.fromisoformat("2026-01-01T00:00:00+05:45").tzinfo)
            timestamp = local.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms:03d}+05:45"
        else:
            timestamp = at.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms:03d}Z"
        envelope = {"id": f"{self.prefix}-{len(self.pairs):05d}", "tenantId": tenant,
                    "timestamp": timestamp, "data": data}
        self.pairs.append((subject, envelope))

    def message(self, tenant: str, at: datetime, kind: str, mid: str, channel: str,
                **extra: Any) -> None:
        self.add(f"pipeline.message.{kind}", tenant, at, messageId=mid, channel=channel, **extra)


def _edge_events(make: Maker, tenant: str) -> None:
    channels = ("email", "sms", "whatsapp", "push")
    for i, at in enumerate(EDGES):
        stamp = ("iso", "epoch", "offset")[i % 3]
        mid = f"edge-{tenant}-{i}"
        msg = {"templateId": f"tpl_edge_{i % 3}", "contactId": f"contact_edge_{i % 5}"}
        if i % 2 == 0:
            msg |= {"sourceType": "campaign", "sourceId": f"cmp_edge_{i % 4}"}
        ch = channels[i % 4]
        for kind in ("sent", "delivered", "opened", "opened", "clicked"):
            make.message(tenant, at, kind, mid, ch, **msg)
        make.add("campaign.started" if i % 3 else "campaign.completed", tenant, at,
                 stamp=stamp, campaignId=f"cmp_edge_{i % 4}")
        run = {"workflowId": f"wf_edge_{i % 2}", "runId": f"run-{tenant}-{i}"}
        make.add("workflow.run.started", tenant, at, stamp=stamp, **run)
        make.add("workflow.run.completed", tenant, at, **run,
                 **({"status": "failed"} if i % 4 == 1 else {}))
        make.add("workflow.run.goal_reached", tenant, at, **run)
        enr = {"sequenceId": f"seq_edge_{i % 2}", "enrollmentId": f"enr-{tenant}-{i}"}
        make.add("sequence.enrollment.enrolled", tenant, at, stamp=stamp, **enr)
        make.add("sequence.step.executed", tenant, at, stepNumber=1 + i % 3, **enr)
        make.add("sequence.enrollment.replied", tenant, at, stepNumber=1 + i % 3, **enr)
        if i % 3 == 0:
            make.add("sequence.enrollment.exited", tenant, at, **enr)


def _special_events(make: Maker) -> None:
    a, b = "t_alpha", "t_beta"
    day = timedelta(days=1)
    # Names: the latest by timestamp wins, over all time; no name at all gives null.
    make.add("campaign.started", a, utc("2026-03-26T09:00:00Z"), campaignId="cmp_renamed",
             name="Spring Launch")
    make.add("campaign.completed", a, utc("2026-03-27T09:00:00Z"), campaignId="cmp_renamed",
             name="Spring Launch v2")
    make.add("campaign.started", a, utc("2026-10-21T09:00:00Z"), campaignId="cmp_renamed",
             name="Autumn Relaunch")
    make.add("campaign.started", a, utc("2026-10-22T11:00:00Z"), campaignId="cmp_anon")
    for i in range(12):
        at = utc("2026-03-26T09:05:00Z") + i * day / 2
        for cid in ("cmp_renamed", "cmp_anon"):
            mid = f"m-{cid}-{i}"
            src = {"sourceType": "campaign", "sourceId": cid, "templateId": "tpl_anon"}
            if i % 4:  # one in four campaign messages has no contact
                src["contactId"] = f"contact_{i % 5}"
            ch = "email" if i % 3 else "sms"
            make.message(a, at, "sent", mid, ch, **src)
            make.message(a, at + timedelta(seconds=7), "delivered", mid, ch, **src)
            if i % 2:  # opened on two different days: once per bucket, once per range
                make.message(a, at + timedelta(hours=2), "opened", mid, ch, **src)
                make.message(a, at + day, "opened", mid, ch, **src)
                make.message(a, at + day, "clicked", mid, ch, **src)
            # again in the autumn
            make.message(a, at + timedelta(days=209), "sent", f"{mid}-fall", ch, **src)
    # `sourceType` campaign without `sourceId` is not a campaign message.
    make.message(a, utc("2026-03-27T10:00:00Z"), "sent", "m-nosource", "push",
                 sourceType="campaign")
    make.message(a, utc("2026-10-27T10:00:00Z"), "sent", "m-renamed-tpl", "email",
                 templateId="tpl_email_1", templateName="Email one (renamed)")
    # Replies: one enrollment replies twice at step 1 and once at step 2.
    enr = {"sequenceId": "seq_3", "enrollmentId": "enr-multi", "name": "Three steps"}
    make.add("sequence.enrollment.enrolled", a, utc("2026-03-26T10:00:00Z"), **enr)
    for step, when in ((1, "2026-03-26T12:00:00Z"), (1, "2026-03-27T12:00:00Z"),
                       (2, "2026-03-28T12:00:00Z")):
        make.add("sequence.step.executed", a, utc(when), stepNumber=step, **enr)
        make.add("sequence.enrollment.replied", a, utc(when) + timedelta(minutes=5),
                 stepNumber=step, **enr)
    # Active at the end of a range: ended exactly at `end` still counts; enrolled at it not.
    for tenant in (a, b):
        for i, now in enumerate((SPRING_NOW, FALL_NOW, B_END)):
            keep = {"sequenceId": "seq_edge_0", "enrollmentId": f"enr-keep-{tenant}-{i}"}
            make.add("sequence.enrollment.enrolled", tenant, now - 3 * day, **keep)
            make.add("sequence.enrollment.completed", tenant, now, **keep)
            make.add("sequence.enrollment.enrolled", tenant, now, sequenceId="seq_edge_1",
                     enrollmentId=f"enr-late-{tenant}-{i}")
    # Secrets of tenant B, which tenant A must never see.
    for i in range(6):
        at = utc("2026-03-27T08:00:00Z") + i * day + timedelta(days=(i % 2) * 210)
        src = {"sourceType": "campaign", "sourceId": "cmp_beta_secret", "contactId": "c_b",
               "templateId": "tpl_beta_secret", "templateName": "Beta Secret Template"}
        make.message(b, at, "sent", f"m-beta-{i}", "whatsapp", **src)
        make.message(b, at, "delivered", f"m-beta-{i}", "whatsapp", **src)
        make.add("campaign.started", b, at, campaignId="cmp_beta_secret",
                 name="Beta Secret Campaign")
        make.add("workflow.run.started", b, at, workflowId="wf_beta_secret",
                 runId=f"run-beta-{i}", name="Beta Secret Workflow")
        make.add("sequence.enrollment.enrolled", b, at, sequenceId="seq_beta_secret",
                 enrollmentId=f"enr-beta-{i}", name="Beta Secret Sequence")


def build_events() -> list[Pair]:
    """The events of the module, with some delivered twice (in one batch and across)."""
    traffic = DemoTraffic(list(TENANTS), seed=20260329)
    pairs: list[Pair] = []
    for start, end in ((utc("2026-03-24T00:00:00Z"), utc("2026-04-03T00:00:00Z")),
                       (utc("2026-10-19T00:00:00Z"), utc("2026-10-30T00:00:00Z"))):
        pairs += traffic.stories(start, end, 450)
    make = Maker()
    for tenant in TENANTS:
        _edge_events(make, tenant)
    _special_events(make)
    pairs += make.pairs
    rng = random.Random(5)
    rng.shuffle(pairs)
    repeats = [p for i, p in enumerate(pairs) if i % 23 == 0]
    return pairs + repeats


async def store_events(storage: Storage, pairs: list[Pair]) -> None:
    writer = BatchWriter(storage, Metrics())
    rows = [map_event(subject, msgspec.json.encode(envelope), seq)
            for seq, (subject, envelope) in enumerate(pairs, 1)]
    for i in range(0, len(rows), 1500):
        await writer.write(rows[i:i + 1500] + rows[i:i + 10])  # repeats inside a batch too
