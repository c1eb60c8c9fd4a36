"""Record the example answers of the OpenAPI document from the demo's data.

    .venv/bin/python scripts/openapi_examples.py

Publishes 30 days of seeded demo traffic (`DemoTraffic`, the three tenants of `run
--demo`) into a throw-away embedded ClickHouse, asks every JSON endpoint as the busy
retailer `tenant_demo` and writes the answers to `src/chanalytics/api/examples.json`,
every list of items cut to its first three so that the document stays readable. Run it
again when an answer's shape changes; `tests/unit/test_openapi_examples.py` fails until
the examples match the response types again.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
from litestar.testing import TestClient

from chanalytics.alerts.notify import Dispatcher
from chanalytics.alerts.service import AlertService
from chanalytics.alerts.store import AlertStore
from chanalytics.api.scheduled_reports import EXAMPLE as REPORT
from chanalytics.app import create_app
from chanalytics.budgets import BudgetStore
from chanalytics.cli.demo import DemoTraffic, Schedule, backfill
from chanalytics.clickhouse.storage import Storage
from chanalytics.config import load_settings
from chanalytics.coordination.lease import LocalLock
from chanalytics.deliveries import AddressPolicy, WebhookSender
from chanalytics.ingest.writer import BatchWriter
from chanalytics.localtime import utc_text
from chanalytics.logs import configure_logging
from chanalytics.mappers import map_event
from chanalytics.metrics import Metrics
from chanalytics.query.engine import Engine
from chanalytics.reports.definition import ReportDefinitionBody
from chanalytics.reports.runner import ReportRunner, new_run
from chanalytics.reports.store import ReportStore

NOW = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)  # a Tuesday afternoon
TENANTS = ["tenant_demo", "tenant_other_1", "tenant_other_2"]
OUT = Path(__file__).resolve().parent.parent / "src/chanalytics/api/examples.json"
A = "/api/v1/analytics"
# name → (method, path, query or body); the name is the key the handlers look up.
CALLS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "overview": ("GET", f"{A}/overview", {"timeRange": "7d", "compare": "previous_period"}),
    "messages": ("GET", f"{A}/messages", {"timeRange": "7d"}),
    "campaigns": ("GET", f"{A}/campaigns", {"timeRange": "30d", "limit": "3"}),
    "workflows": ("GET", f"{A}/workflows", {"timeRange": "30d", "limit": "3"}),
    "sequences": ("GET", f"{A}/sequences", {"timeRange": "30d", "limit": "3"}),
    "templates": ("GET", f"{A}/templates", {"timeRange": "30d", "limit": "3"}),
    "traffic": ("GET", f"{A}/traffic", {"timeRange": "1d", "timezone": "Europe/Berlin"}),
    "campaign": ("GET", f"{A}/campaigns/cmp_winter_sale", {
        "timeRange": "30d", "granularity": "day", "limit": "3"}),
    "campaignsCompare": ("GET", f"{A}/campaigns/compare", {
        "campaignId": ["cmp_winter_sale", "cmp_flash_sale_alert", "cmp_spring_launch"],
        "timeRange": "30d"}),
    "channels": ("GET", f"{A}/channels", {"timeRange": "30d"}),
    "deliverability": ("GET", f"{A}/deliverability", {"timeRange": "30d"}),
    "suppressions": ("GET", f"{A}/suppressions", {"limit": "3"}),
    "budget": ("PUT", f"{A}/budget", {"monthlyBudget": 25.0, "timezone": "Europe/Berlin"}),
    "costs": ("GET", f"{A}/costs", {"timeRange": "30d"}),
    "events": ("GET", f"{A}/events", {"timeRange": "1d", "limit": "3"}),
    "realtime": ("GET", f"{A}/realtime", {"timezone": "Europe/Berlin"}),
    "engagement": ("GET", f"{A}/engagement", {"limit": "3"}),
    "contactEngagement": ("GET", f"{A}/contacts/contact_1458/engagement", {}),
    "funnel": ("GET", f"{A}/funnel", {"timeRange": "30d"}),
    "workflowFunnel": ("GET", f"{A}/funnel/workflows", {"timeRange": "30d"}),
    "cohorts": ("GET", f"{A}/cohorts", {"timeRange": "30d", "timezone": "Europe/Berlin"}),
    "query": ("POST", f"{A}/query", {
        "metrics": ["sent", "deliveryRate", "p95DeliveryMs", "totalCost"],
        "dimensions": ["channel", "provider"], "timeRange": "30d", "limit": 3}),
    # Last: it counts the requests above (the app's clock dates them).
    "api-usage": ("GET", f"{A}/api-usage", {"startDate": "2026-12-01", "endDate": "2026-12-01"}),
}


class Collector:
    """Takes the demo's publishes (JetStream's `publish` signature) as mapped rows."""

    def __init__(self) -> None:
        self.rows: list[Any] = []

    async def publish(self, subject: str, body: bytes, headers: dict[str, str]) -> None:
        self.rows.append(map_event(subject, body, len(self.rows) + 1))


def cut(value: Any, key: str = "") -> Any:
    """`value` with every list of items (objects or rows) cut to its first three; a
    report's `columns`, a row's values, a campaign's four `devices` and a funnel's
    `steps` stay whole."""
    if isinstance(value, list):
        items = value if key in ("columns", "devices", "steps") or not value or not isinstance(
            value[0], dict | list) else value[:3]
        return [cut(v) for v in items]
    if isinstance(value, dict):
        return {k: cut(v, k) for k, v in value.items()}
    return value


def _later(stamp: str, seconds: float) -> str:
    """`stamp` plus `seconds`, written as the API writes instants (`utc_text`)."""
    return utc_text(datetime.fromisoformat(stamp) + timedelta(seconds=seconds))


async def load(storage: Storage) -> int:
    collector = Collector()
    await backfill(collector, DemoTraffic(TENANTS, seed=2026), Schedule(), NOW,
                   rate_per_minute=1.0, days=30)
    writer = BatchWriter(storage, Metrics())
    for i in range(0, len(collector.rows), 5000):
        await writer.write(collector.rows[i:i + 5000])
    return len(collector.rows)


RULE = {"name": "email delivery dropped", "metric": "deliveryRate", "channel": "email",
        "operator": "<", "threshold": 99, "windowMinutes": 1440, "minVolume": 50,
        "deliveries": [{"email": {"to": ["ops@example.com"]}}]}


def alert_examples(client: TestClient[Any], headers: dict[str, str],
                   storage: Storage) -> dict[str, Any]:
    """A rule created, listed and tested, one evaluation round at the demo's clock, and
    the alerts it raised."""
    rules = f"{A}/alerts/rules"
    created = client.post(rules, json=RULE, headers=headers)
    created.raise_for_status()
    rule_id = created.json()["data"]["id"]
    found = {"alertRule": created.json(),
             "alertRules": client.get(rules, headers=headers).json(),
             "alertRuleTest": client.post(f"{rules}/{rule_id}/test", headers=headers).json()}
    store = AlertStore(storage)
    service = AlertService(store, Engine(storage), BudgetStore(storage),
                           evaluate_lock=LocalLock(), dispatch_lock=LocalLock(),
                           dispatcher=Dispatcher(store, publisher=None, webhooks=None,
                                                 email=None), tenants=lambda: TENANTS)
    asyncio.run(service.evaluate(NOW))
    found["alerts"] = client.get(f"{A}/alerts", headers=headers).json()
    return {name: cut(value) for name, value in found.items()}


async def scheduled_reports(storage: Storage) -> tuple[str, str]:
    """The example report, stored as `POST /reports` stores it (its webhook's host does not
    resolve here, so the save-time check would refuse it), and a run of it without its
    deliveries, carried out as the scheduler does. Their ids: fixed, as examples."""
    store = ReportStore(storage)
    body = msgspec.convert(REPORT, ReportDefinitionBody)
    report_id, run_id = "rep_5f0c2a9e41b7d3c8a6e1", "run_0b9e6d1c7f2a4e8b3d5c9a10"
    await store.put("tenant_demo", report_id, body)
    quiet = msgspec.structs.replace(body, deliveries=[])
    await store.put("tenant_demo", "rep_runs", quiet)
    runner = ReportRunner(Engine(storage), store, WebhookSender(AddressPolicy()), None,
                          clock=lambda: NOW + timedelta(seconds=2))
    await runner.execute(new_run("tenant_demo", "rep_runs", quiet, run_id, scheduled=True,
                                 scheduled_for=NOW, now=NOW))
    return report_id, "rep_runs"


def main() -> None:
    configure_logging("warning")
    with tempfile.TemporaryDirectory() as tmp:
        storage = Storage(f"chdb://{tmp}", "examples")
        storage.connect()
        storage.migrate(raw_ttl_days=3650)
        print(f"{asyncio.run(load(storage)):,} demo events stored")
        report_id, run_report_id = asyncio.run(scheduled_reports(storage))
        calls = {**CALLS, "reports": ("GET", f"{A}/reports", {}),
                 "report": ("GET", f"{A}/reports/{report_id}", {}),
                 "reportRuns": ("GET", f"{A}/reports/{run_report_id}/runs", {})}
        app = create_app(load_settings({}, api_keys="example-token=tenant_demo"),
                         storage=storage, clock=lambda: NOW)
        examples: dict[str, Any] = {}
        with TestClient(app) as client:
            headers = {"Authorization": "Bearer example-token"}
            for name, (method, path, args) in calls.items():
                if method == "GET":
                    answer = client.get(path, params=args, headers=headers)
                else:
                    answer = client.request(method, path, json=args, headers=headers)
                answer.raise_for_status()
                examples[name] = cut(msgspec.json.decode(answer.content))
            examples |= alert_examples(client, headers, storage)
        for item in examples["events"]["data"]["items"]:
            # Stored by this script a while after the demo's clock: shown as the live
            # service would store it, a quarter second after it happened.
            item["ingestedAt"] = _later(item["occurredAt"], 0.25)
        freshness = examples["realtime"]["data"]["freshness"]
        # The same for the newest event; and this script has no NATS to ask, where `run`
        # would find ingest caught up.
        freshness["newestStoredAt"] = _later(freshness["newestEventAt"], 0.25)
        freshness["pipelineLagSeconds"] = 0.0
        # Tickets need NATS, which this script does not run: a made-up one, as issued.
        examples["ticket"] = {"success": True, "data": {
            "ticket": "Yx3b8m1kQ0vN2c5H7dT9sL4pW6eR1aZu", "expiresAt": _later(
                examples["realtime"]["data"]["asOf"], 60)}}
        # Reports: the list shows the example report alone; the run was made without its
        # deliveries (nothing here answers a webhook or SMTP): shown as delivered.
        listed = examples["reports"]["data"]["items"]
        examples["reports"]["data"]["items"] = [r for r in listed if r["id"] == report_id]
        run = examples["reportRuns"]["data"]["items"][0]
        run["deliveries"] = [
            {"channel": "webhook", "deliveryId": "dlv_8d2f0a61c4b97e35d1a0f6b2",
             "status": "delivered", "tries": 2, "lastError": "HTTP 503"},
            {"channel": "email", "deliveryId": "dlv_3e7b1c95a0d24f68b9c1e7a4",
             "status": "delivered", "tries": 1, "lastError": None}]
        storage.close()
    OUT.write_text(json.dumps(examples, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
