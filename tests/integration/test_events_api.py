"""`GET /events` (drill-down) over real ClickHouse: order, filters, fields, pages that
return every event exactly once while events arrive, exports, and refused cursors."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from chanalytics.app import create_app
from chanalytics.clickhouse.storage import Storage
from chanalytics.config import load_settings
from chanalytics.ingest.writer import BatchWriter
from chanalytics.mappers import map_event
from chanalytics.metrics import Metrics

pytestmark = pytest.mark.clickhouse

NOW = datetime(2026, 5, 4, 12, tzinfo=UTC)
TOKENS = "tok-a=t_a,tok-b=t_b"


def envelope(n: int, tenant: str, at: datetime, subject: str = "pipeline.message.sent",
             **data: Any) -> tuple[str, bytes]:
    body = {"messageId": f"m{n}", "channel": "email" if n % 3 else "sms",
            "contactId": f"c{n % 7}", **data}
    return subject, json.dumps({"id": f"{tenant}-e{n:04d}", "tenantId": tenant,
                                "timestamp": at.isoformat().replace("+00:00", "Z"),
                                "data": body}).encode()


async def store(storage: Storage, pairs: list[tuple[str, bytes]]) -> None:
    await BatchWriter(storage, Metrics()).write([map_event(s, p) for s, p in pairs])


@pytest.fixture
async def client(storage: Storage) -> AsyncIterator[AsyncTestClient[Any]]:
    pairs = [envelope(n, "t_a", NOW - timedelta(minutes=7 * n + 1), cost=0.25,
                      metadata={"k": n}) for n in range(60)]
    pairs += [envelope(n, "t_b", NOW - timedelta(minutes=n)) for n in range(5)]
    pairs.append(envelope(99, "t_a", NOW - timedelta(minutes=3), "pipeline.message.opened"))
    await store(storage, pairs)
    app = create_app(load_settings({"CHANALYTICS_API_KEYS": TOKENS}), storage=storage,
                     clock=lambda: NOW)
    async with AsyncTestClient(app) as c:
        c.headers["Authorization"] = "Bearer tok-a"
        yield c


class TestDrillDown:
    async def test_newest_first_with_every_field(self, client: AsyncTestClient[Any]) -> None:
        """Items are the tenant's events, newest first, with the contract's fields."""
        data = (await client.get("/api/v1/analytics/events", params={"limit": "5"})).json()
        items = data["data"]["items"]
        stamps = [i["occurredAt"] for i in items]
        assert stamps == sorted(stamps, reverse=True)
        assert items[0]["type"] == "message_sent" and items[0]["id"] == "t_a-e0000"
        assert items[1]["type"] == "message_opened"  # 3 minutes before now, between sends
        first = items[0]
        assert list(first) == ["id", "type", "occurredAt", "ingestedAt", "channel", "entityType",
                               "entityId", "contactId", "campaignId", "workflowId",
                               "sequenceId", "templateId", "provider", "cost", "durationMs",
                               "errorCode", "bounceType", "url", "metadata"]
        assert (first["cost"], first["metadata"], first["campaignId"]) == (0.25, {"k": 0}, None)
        assert all(i["id"].startswith("t_a-") for i in items)

    async def test_filters(self, client: AsyncTestClient[Any]) -> None:
        """types and channel filters, ANDed."""
        data = (await client.get("/api/v1/analytics/events", params={
            "types": "message_sent", "channel": "sms", "limit": "1000"})).json()["data"]
        assert {i["type"] for i in data["items"]} == {"message_sent"}
        assert {i["channel"] for i in data["items"]} == {"sms"}
        midnight = NOW.replace(hour=0)  # timeRange=1d: from today's midnight to now
        assert len(data["items"]) == len([n for n in range(60) if n % 3 == 0
                                          and NOW - timedelta(minutes=7 * n + 1) >= midnight])

    async def test_pages_return_every_event_once_while_events_arrive(
        self, client: AsyncTestClient[Any], storage: Storage
    ) -> None:
        """Following nextCursor returns each event stored at the first page exactly once,
        though newer and older events are stored between the pages."""
        params = {"limit": "7", "startDate": "2026-05-01", "endDate": "2026-05-05"}
        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            query = {**params, **({"cursor": cursor} if cursor else {})}
            data = (await client.get("/api/v1/analytics/events", params=query)).json()["data"]
            seen += [i["id"] for i in data["items"]]
            pages += 1
            await store(storage, [envelope(1000 + pages, "t_a", NOW + timedelta(minutes=pages))])
            cursor = data["nextCursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen))
        assert set(seen) >= {f"t_a-e{n:04d}" for n in range(60)} | {"t_a-e0099"}

    @pytest.mark.parametrize("kind", ["csv", "ndjson"])
    async def test_export_streams_every_matching_event(
        self, client: AsyncTestClient[Any], kind: str
    ) -> None:
        """An export holds every matching event, in the items' form and order."""
        params = {"startDate": "2026-05-01", "endDate": "2026-05-05"}
        full = (await client.get("/api/v1/analytics/events",
                                 params={**params, "limit": "1000"})).json()["data"]["items"]
        response = await client.get("/api/v1/analytics/events", params={**params, "format": kind})
        assert response.status_code == 200
        if kind == "ndjson":
            assert [json.loads(line) for line in response.text.splitlines()] == full
        else:
            rows = list(csv.DictReader(io.StringIO(response.text)))
            assert [r["id"] for r in rows] == [i["id"] for i in full]
            assert rows[0]["metadata"] == '{"k":0}'

    @pytest.mark.parametrize(("params", "field"), [
        ({"types": "message_teleported"}, "types"), ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"), ({"cursor": "garbage"}, "cursor"),
        ({"format": "xml"}, "format"), ({"campaignId": "x" * 300}, "campaignId"),
    ])
    async def test_bad_input_names_the_field(self, client: AsyncTestClient[Any],
                                             params: dict[str, str], field: str) -> None:
        response = await client.get("/api/v1/analytics/events", params=params)
        assert response.status_code == 400
        assert response.json()["error"]["field"] == field

    async def test_another_tenants_cursor_is_refused(self, client: AsyncTestClient[Any]) -> None:
        """A cursor made for tenant B's query is refused for A: never B's rows."""
        theirs = (await client.get("/api/v1/analytics/events", params={"limit": "1"},
                                   headers={"Authorization": "Bearer tok-b"})).json()
        cursor = theirs["data"]["nextCursor"]
        response = await client.get("/api/v1/analytics/events",
                                    params={"limit": "1", "cursor": cursor})
        assert response.status_code == 400
