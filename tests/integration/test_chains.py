"""Distinct counts from key chains (`chanalytics/chains.py`) equal the distinct keys.

Events arrive out of order, in batches of any size, some twice; for every range of
whole 15-minute buckets and every level, the chain sum must equal the number of keys
with an event in the range, counted here in plain Python.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from chanalytics.ingest.writer import CHAIN_SQL, READY_SQL, BatchWriter, WriteResult, dedup_token
from chanalytics.metrics import Metrics
from chanalytics.rows import AnalyticsRow
from chanalytics.storage import Storage

pytestmark = pytest.mark.clickhouse

T0 = datetime(2026, 3, 1, tzinfo=UTC)
QUARTER = timedelta(minutes=15)
CHAIN_SUM = (
    "SELECT level, channel, campaign_id, template_id, metric, sum(keys) FROM distinct_chain_15m "
    "WHERE bucket >= {a:DateTime('UTC')} AND bucket < {b:DateTime('UTC')} "
    "AND prev_bucket < {a:DateTime('UTC')} "
    "GROUP BY level, channel, campaign_id, template_id, metric HAVING sum(keys) != 0"
)


def random_rows(rng: random.Random, n: int) -> list[AnalyticsRow]:
    rows = []
    for i in range(n):
        kind = rng.choice(["message_opened", "message_clicked", "message_sent"])
        message = f"m{rng.randrange(25)}"
        rows.append(AnalyticsRow(
            id=f"e{i}", tenant_id=rng.choice(["t1", "t2"]), event_type=kind,
            entity_type="message", entity_id=message,
            # mostly one channel per message, sometimes another
            channel=rng.choice(["email", "email", "email", "sms"]),
            contact_id=f"c{rng.randrange(15)}" if kind == "message_sent" else "",
            campaign_id=rng.choice(["", "k1", "k2"]),
            template_id=rng.choice(["", "tp1"]),
            occurred_at=T0 + timedelta(minutes=rng.randrange(0, 12 * 60)),
        ))
    return rows


def groups_of(row: AnalyticsRow) -> tuple[str, str, list[tuple[str, str, str, str]]]:
    """(metric, key, the level groups) of a key row, written out level by level."""
    if row.event_type == "message_sent":
        if not row.campaign_id or not row.contact_id:
            return "", "", []
        metric, key = "campaign_recipient", row.contact_id
    else:
        metric, key = row.event_type.removeprefix("message_"), row.entity_id
    ch, camp, tpl = row.channel, row.campaign_id, row.template_id
    groups = [("all", "", "", ""), ("channel", ch, "", "")]
    if camp:
        groups += [("campaign", "", camp, ""), ("campaign+channel", ch, camp, "")]
    if metric != "campaign_recipient":
        if camp:
            groups += [("any-campaign", "", "", ""), ("any-campaign+channel", ch, "", "")]
        if tpl:
            groups += [("template", "", "", tpl), ("template+channel", ch, "", tpl)]
    return metric, key, groups


def truth(rows: list[AnalyticsRow], a: datetime, b: datetime) -> dict[tuple[str, ...], int]:
    keys: defaultdict[tuple[str, ...], set[tuple[str, str]]] = defaultdict(set)
    for row in rows:
        if not a <= row.occurred_at < b:
            continue
        metric, key, groups = groups_of(row)
        for level, ch, camp, tpl in groups:
            keys[(level, ch, camp, tpl, metric)].add((row.tenant_id, key))
    return {group: len(found) for group, found in keys.items()}


async def chain_counts(storage: Storage, a: datetime, b: datetime) -> dict[tuple[str, ...], int]:
    rows = await storage.query(CHAIN_SUM, {"a": a, "b": b})
    return {tuple(r[:5]): r[5] for r in rows}


async def test_chain_sums_are_distinct_counts_for_every_range(storage: Storage) -> None:
    rng = random.Random(7)
    rows = random_rows(rng, 600)
    writer = BatchWriter(storage, Metrics())
    shuffled = rows + rng.sample(rows, 60)  # some delivered twice
    rng.shuffle(shuffled)
    i = 0
    while i < len(shuffled):
        size = rng.choice([1, 3, 20, 90])
        await writer.write(shuffled[i:i + size])
        i += size
    t1 = [r for r in rows if r.tenant_id == "t1"]
    for _ in range(40):
        first, last = sorted(rng.sample(range(0, 12 * 4 + 1), 2))
        a, b = T0 + first * QUARTER, T0 + last * QUARTER
        got = await chain_counts(storage, a, b)
        want_both = truth(rows, a, b)
        assert got == want_both, (a, b)
        # one tenant's share alone, as the queries read it
        t1_rows = await storage.query(
            CHAIN_SUM.replace("WHERE", "WHERE tenant_id = 't1' AND"), {"a": a, "b": b})
        assert {tuple(r[:5]): r[5] for r in t1_rows} == truth(t1, a, b)


async def test_a_batch_recovered_after_a_crash_adds_its_chain_once(storage: Storage) -> None:
    rng = random.Random(3)
    rows = random_rows(rng, 200)
    writer = BatchWriter(storage, Metrics())
    await writer.write(rows[:100])
    # a writer killed right after committing the next batch: staged, chained, moved to ready
    batch = dedup_token(rows[100:150])
    await writer._stage(rows[100:150], batch, WriteResult())
    await storage.command(CHAIN_SQL, {"batch": batch})
    await storage.command(READY_SQL, {"batch": batch})
    # and one killed after computing a chain it never committed
    orphan = dedup_token(rows[150:])
    await writer._stage(rows[150:], orphan, WriteResult())
    await storage.command(CHAIN_SQL, {"batch": orphan})
    await writer.write(rows[150:])  # recovers both, then stores the orphan's rows anew
    await writer.write(rows[100:150])  # a redelivery of the recovered batch: all duplicates
    day = T0 + timedelta(days=1)
    for start in (T0, T0 + timedelta(hours=6)):
        assert await chain_counts(storage, start, day) == truth(rows, start, day)
    assert await storage.query("SELECT count() FROM distinct_chain_pending") == [(0,)]

