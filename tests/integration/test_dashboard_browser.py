"""The dashboard in Debian's Chromium (Playwright) against a real `chanalytics run` with
real ingested events: the banner's link signs in, the numbers are the API's, the range
changes them as the API does, a CSV downloads, a published event reaches the live strip,
and the page asks nothing of any other origin. Screenshots go to docs/screenshots/."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.integration.test_cli import _get, _start_run, _stop

from chanalytics.nats.publish import publish_one
from chanalytics.nats.server import free_port

pytestmark = [pytest.mark.clickhouse, pytest.mark.nats, pytest.mark.once]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ZONE = "Europe/Berlin"  # the browser's zone: the page's default
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

if not CHROMIUM.exists():
    pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium (`apt-get install -y "
                "chromium`; scripts/test installs it where apt is available)",
                allow_module_level=True)
playwright = pytest.importorskip("playwright.sync_api", reason="playwright (the test extra) "
                                 "is not installed: pip install -e '.[test]'")


def _publish(nats_url: str, *events: dict[str, Any]) -> None:
    """Events of tenant_demo through the real publish path (in a thread: the browser
    driver owns this thread's loop)."""
    async def send() -> None:
        for event in events:
            await publish_one(nats_url, "pipeline.message.sent",
                              json.dumps({"tenantId": "tenant_demo", **event}))
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, send()).result(timeout=60)


def _sent(message: str, channel: str, at: datetime) -> dict[str, Any]:
    return {"timestamp": at.isoformat(),
            "data": {"messageId": message, "channel": channel, "contactId": f"c-{message}"}}


class Service:
    def __init__(self, base: str, token: str, link: str, nats_url: str) -> None:
        self.base, self.token, self.link, self.nats_url = base, token, link, nats_url

    def api(self, path: str, **query: str) -> dict[str, Any]:
        code, body = _get(f"{self.base}/api/v1/analytics/{path}?"
                          + urllib.parse.urlencode(query), self.token)
        assert code == 200, body
        data: dict[str, Any] = json.loads(body)["data"]
        return data


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """One `chanalytics run` for every check: three events today, one four days ago."""
    tmp = tmp_path_factory.mktemp("dashboard")
    port, nats_port = free_port(), free_port()
    proc, fields = _start_run(tmp, port, "--nats-port", str(nats_port), log=tmp / "run.log")
    try:
        base = f"http://127.0.0.1:{port}"
        link = fields["dashboard"].split()[0].replace(
            fields["dashboard"].split("/#")[0], base)  # the banner names the bind host
        assert "#ticket=" in link and fields["token"] not in link
        found = Service(base, fields["token"], link, fields["NATS"].split()[0])
        now = datetime.now(UTC)
        _publish(found.nats_url, _sent("m1", "email", now - timedelta(minutes=5)),
                 _sent("m2", "email", now - timedelta(minutes=4)),
                 _sent("m3", "sms", now - timedelta(minutes=3)),
                 _sent("m-old", "push", now - timedelta(days=4)))
        for _ in range(150):
            if found.api("overview", timeRange="7d")["summary"]["totalMessagesSent"] == 4:
                break
            asyncio.run(asyncio.sleep(0.2))
        else:
            pytest.fail("the published events were not counted within 30 s")
        yield found
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


def _tile(page: Any, metric: str) -> int:
    text = page.locator(f'[data-metric="{metric}"] .value').inner_text()
    return int(text.replace(",", "").replace("\u202f", ""))


def _wait_idle(page: Any) -> None:
    page.wait_for_selector('body[data-loading="false"]', timeout=15000)


class TestDashboard:
    def test_the_page_end_to_end(self, service: Service, browser: Any) -> None:
        """Signed in by the banner's link, the page shows the API's numbers for its URL
        state, follows a range change, downloads the channels CSV, shows a newly published
        event on the live strip, and never asks another origin for anything."""
        context = browser.new_context(viewport={"width": 1280, "height": 800},
                                      timezone_id=ZONE, locale="en-US", accept_downloads=True)
        page = context.new_page()
        errors: list[str] = []
        requests: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))

        page.goto(service.link)
        _wait_idle(page)
        assert "ticket" not in page.url  # the fragment is gone from the address bar
        api = service.api("overview", timeRange="7d", timezone=ZONE, compare="previous_period")
        assert _tile(page, "totalMessagesSent") == api["summary"]["totalMessagesSent"] == 4
        assert _tile(page, "totalDelivered") == api["summary"]["totalDelivered"]
        assert "newest event stored" in page.locator("#overview .freshness").inner_text()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "overview-1280x800.png"), full_page=False)

        page.select_option("#range", "1d")
        page.wait_for_url("**timeRange=1d**")
        _wait_idle(page)
        day = service.api("overview", timeRange="1d", timezone=ZONE)
        assert _tile(page, "totalMessagesSent") == day["summary"]["totalMessagesSent"] == 3
        assert f"timezone={urllib.parse.quote(ZONE, safe='')}" in page.url

        with page.expect_download() as waiting:
            page.click("#channels-csv")
        rows = list(csv.DictReader(io.StringIO(Path(waiting.value.path()).read_text())))
        assert {r["channel"]: int(r["sent"]) for r in rows} == {"email": 2, "sms": 1}

        page.wait_for_selector("#live-status:has-text('Connected')", timeout=10000)
        _publish(service.nats_url, _sent("m-live", "whatsapp", datetime.now(UTC)))
        page.wait_for_selector("#live-events li:has-text('m-live')", timeout=10000)

        page.set_viewport_size({"width": 390, "height": 844})
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(SCREENSHOTS / "overview-390x844.png"), full_page=False)
        origin = service.base + "/"
        assert [u for u in requests if not u.startswith(origin)] == []
        assert errors == []
        context.close()

    def test_sign_in_with_a_token_and_a_used_link(self, service: Service,
                                                  browser: Any) -> None:
        """A used link says so and offers the form; the token typed there signs in, is
        kept out of the URL, and a wrong token is refused with the API's message."""
        context = browser.new_context(timezone_id=ZONE, locale="en-US")
        page = context.new_page()
        page.goto(service.link)  # used by the first test
        page.wait_for_selector("#signin-error:has-text('used')")
        page.fill("#token", "not-a-token")
        page.click("#signin-form button")
        page.wait_for_selector("#signin-error:has-text('unknown token')")
        page.fill("#token", service.token)
        page.click("#signin-form button")
        _wait_idle(page)
        api = service.api("overview", timeRange="7d", timezone=ZONE)
        assert _tile(page, "totalMessagesSent") == api["summary"]["totalMessagesSent"]
        assert service.token not in page.url
        context.close()
