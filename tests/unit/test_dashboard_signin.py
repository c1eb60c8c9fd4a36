"""The dashboard's page, assets and one-time sign-in tickets, through the app."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from litestar.testing import TestClient

from chanalytics.app import create_app
from chanalytics.cli.banner import banner
from chanalytics.config import load_settings
from chanalytics.dashboard.signin import TTL, SignInTickets


class _Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class TestSignInTickets:
    def test_a_ticket_is_exchanged_once_and_not_after_its_ttl(self) -> None:
        """A ticket answers its token once; a second use or an expired one answers None."""
        clock = _Clock()
        tickets = SignInTickets(clock)
        first, late = tickets.mint("tok"), tickets.mint("tok")
        assert tickets.redeem(first) == "tok"
        assert tickets.redeem(first) is None
        clock.now += TTL + timedelta(seconds=1)
        assert tickets.redeem(late) is None
        assert tickets.redeem("unknown") is None

    def test_the_banner_links_the_page_with_the_ticket(self) -> None:
        """With a ticket the banner's dashboard line opens the page signed in; without,
        it names the page alone."""
        assert "dashboard: http://h:1/#ticket=T" in banner("http://h:1", "nats://n", "dev-x",
                                                           sign_in="T")
        assert "dashboard: http://h:1/  (sign in" in banner("http://h:1", "nats://n", None)


class TestDashboardRoutes:
    def test_page_assets_and_exchange(self) -> None:
        """`/` is the page with a same-origin-only policy, its modules are served from the
        package, and the sign-in exchange answers the token once, then 401."""
        tickets = SignInTickets()
        ticket = tickets.mint("tok")
        app = create_app(load_settings({"CHANALYTICS_API_KEYS": "tok=tenant_a"}),
                         storage=object(), probe_nats=False, sign_in=tickets)  # type: ignore[arg-type]
        with TestClient(app) as client:
            page = client.get("/")
            assert page.status_code == 200 and "/dashboard/assets/js/main.js" in page.text
            assert "default-src 'self'" in page.headers["content-security-policy"]
            script = client.get("/dashboard/assets/js/main.js")
            assert script.status_code == 200 and "javascript" in script.headers["content-type"]
            answer = client.post("/dashboard/sign-in", json={"ticket": ticket})
            assert answer.json() == {"success": True, "data": {"token": "tok"}}
            again = client.post("/dashboard/sign-in", json={"ticket": ticket})
            assert again.status_code == 401
            assert again.json()["error"]["code"] == "unauthorized"

    def test_a_bad_sign_in_body_is_a_400_naming_its_key(self) -> None:
        """The exchange's body is as strict as every other: an unknown key, a missing
        ticket or no JSON at all is refused, naming what is wrong."""
        app = create_app(load_settings({"CHANALYTICS_API_KEYS": "tok=tenant_a"}),
                         storage=object(), probe_nats=False, sign_in=SignInTickets())  # type: ignore[arg-type]
        with TestClient(app) as client:
            for body, field in [({"ticket": "x", "tiket": "y"}, "tiket"), ({}, "ticket"),
                                (b"not json", "body")]:
                kwargs = {"content": body} if isinstance(body, bytes) else {"json": body}
                answer = client.post("/dashboard/sign-in", **kwargs)
                assert answer.status_code == 400, (body, answer.text)
                assert answer.json()["error"]["field"] == field
