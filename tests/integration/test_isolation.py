"""Tenant isolation as a property: another tenant's data never changes what a tenant sees.

Two databases: one holds tenants A and B, the other only A. For random endpoints and
parameters, A's answers must be identical in both, which rules out any of B's ids, names
or counts showing up; B's token must see none of A's ids.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from chanalytics.app import create_app
from chanalytics.cli.demo import DemoTraffic
from chanalytics.clickhouse.storage import Storage
from chanalytics.config import load_settings
from chanalytics.ingest.writer import BatchWriter
from chanalytics.mappers import map_event
from chanalytics.metrics import Metrics
from chanalytics.versions import LocalVersions

pytestmark = pytest.mark.clickhouse

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
# Both tenants' demo draws from the same campaigns: a campaign in depth and compared too.
ENDPOINTS = ["overview", "messages", "campaigns", "workflows", "sequences", "templates",
             "traffic", "campaigns/cmp_winter_sale", "campaigns/cmp_flash_sale_alert",
             "campaigns/compare?campaignId=cmp_winter_sale&campaignId=cmp_product_digest"
             "&campaignId=cmp_nowhere"]


def _events(tenant: str, seed: int) -> list[tuple[str, bytes]]:
    # Both tenants draw campaign/template/workflow ids from the same small sets on purpose:
    # isolation must not rely on ids differing between tenants.
    stories = DemoTraffic([tenant], seed=seed).stories(NOW - timedelta(days=40), NOW, 300)
    return [(subject, msgspec.json.encode(env)) for subject, env in stories]


@pytest.fixture(scope="module")
def clients(clickhouse_dsn: str) -> Iterator[tuple[TestClient[Any], TestClient[Any]]]:
    a_events, b_events = _events("tenant_a", 1), _events("tenant_b", 2)
    stores = []
    for name, events in (("both", a_events + b_events), ("only_a", a_events)):
        store = Storage(clickhouse_dsn, f"iso_{name}_{uuid.uuid4().hex[:8]}")
        store.connect()
        store.migrate(raw_ttl_days=3650)
        rows = [map_event(subject, payload) for subject, payload in events]
        asyncio.run(BatchWriter(store, Metrics()).write(rows))
        stores.append(store)
    settings_ = load_settings({}, api_keys="tok-a=tenant_a,tok-b=tenant_b")
    apps = [create_app(settings_, storage=s, clock=lambda: NOW, versions=LocalVersions())
            for s in stores]  # answers kept per tenant: isolated too
    with TestClient(apps[0]) as both, TestClient(apps[1]) as only_a:
        yield both, only_a
    for store in stores:
        store.command_sync(f"DROP DATABASE IF EXISTS `{store.database}`")
        store.close()


queries = st.fixed_dictionaries({}, optional={
    "timeRange": st.sampled_from(["1d", "7d", "30d", "90d"]),
    "timezone": st.sampled_from(["UTC", "Europe/Berlin", "Asia/Kathmandu", "America/St_Johns"]),
    "granularity": st.sampled_from(["hour", "day", "week", "month"]),
    "channel": st.sampled_from(["email", "sms", "whatsapp", "push"]),
    "limit": st.integers(1, 100).map(str),
    "minUsage": st.integers(0, 50).map(str),
    "campaignId": st.sampled_from(["cmp_1", "cmp_2", "cmp_7"]),
    "templateId": st.sampled_from(["tpl_email_1", "tpl_sms_2"]),
})


class TestIsolation:
    @settings(max_examples=40, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(endpoint=st.sampled_from(ENDPOINTS), params=queries)
    def test_other_tenants_data_never_changes_an_answer(
        self, clients: tuple[TestClient[Any], TestClient[Any]], endpoint: str,
        params: dict[str, str],
    ) -> None:
        """Tenant A's answer is the same whether or not tenant B's events are stored."""
        both, only_a = clients
        path, _, query = endpoint.partition("?")
        url = f"/api/v1/analytics/{path}"
        pairs = [*parse_qsl(query), *params.items()]
        headers = {"Authorization": "Bearer tok-a"}
        got = both.get(url, params=pairs, headers=headers)
        expected = only_a.get(url, params=pairs, headers=headers)
        assert got.status_code == expected.status_code
        assert got.json() == expected.json()

    @pytest.mark.parametrize("level", [None, "high", "medium", "low", "inactive"])
    def test_engagement_never_counts_another_tenants_events(
        self, clients: tuple[TestClient[Any], TestClient[Any]], level: str | None,
    ) -> None:
        """At one asOf, A's levels, ranking pages and contacts are the same with or without
        B's events, though both tenants draw contact ids from the same demo pool."""
        both, only_a = clients
        headers = {"Authorization": "Bearer tok-a"}
        # After every stored event (the module's were stored before this test began).
        as_of = (datetime.now(UTC) - timedelta(milliseconds=10)).isoformat()
        chosen = {"level": level} if level else {}
        params = {"asOf": as_of, "limit": "7"} | chosen
        shown = []
        for _ in range(4):
            got = both.get("/api/v1/analytics/engagement", params=params, headers=headers)
            expected = only_a.get("/api/v1/analytics/engagement", params=params,
                                  headers=headers)
            assert got.status_code == expected.status_code == 200, got.text
            assert got.json() == expected.json()
            data = got.json()["data"]
            shown += [c["contactId"] for c in data["contacts"]]
            if data["nextCursor"] is None:
                break
            params = {"limit": "7", "cursor": data["nextCursor"]} | chosen
        for contact in [*shown[:3], "contact_1", "contact_2"]:
            url = f"/api/v1/analytics/contacts/{contact}/engagement"
            assert both.get(url, params={"asOf": as_of}, headers=headers).json() == \
                only_a.get(url, params={"asOf": as_of}, headers=headers).json()

    def test_other_tenant_sees_none_of_the_first_ones_events(
        self, clients: tuple[TestClient[Any], TestClient[Any]]
    ) -> None:
        """B's token, against a database where only A has data, finds nothing at all."""
        _, only_a = clients
        answer = only_a.get("/api/v1/analytics/campaigns", params={"timeRange": "90d"},
                            headers={"Authorization": "Bearer tok-b"}).json()
        assert answer["data"]["topCampaigns"] == []
        assert answer["data"]["summary"]["totalCampaigns"] == 0
        headers = {"Authorization": "Bearer tok-b"}
        one = only_a.get("/api/v1/analytics/campaigns/cmp_winter_sale", headers=headers)
        assert one.status_code == 404
        compared = only_a.get("/api/v1/analytics/campaigns/compare", headers=headers, params=[
            ("campaignId", "cmp_winter_sale"), ("campaignId", "cmp_flash_sale_alert")]).json()
        assert all(c["name"] is None and c["sent"] == 0 for c in compared["data"]["campaigns"])
