"""`GET /` (the page), `/dashboard/assets/…` (its files) and `POST /dashboard/sign-in`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import structlog
from litestar import Controller, Request, get, post
from litestar.datastructures import CacheControlHeader, State
from litestar.response import File
from litestar.router import Router
from litestar.static_files import create_static_files_router

from chanalytics.api.errors import error_response
from chanalytics.api.services import services
from chanalytics.query.body import BodyDecoder

log = structlog.get_logger(__name__)

STATIC = Path(__file__).parent / "static"
ASSETS = "/dashboard/assets"
# Everything from this origin only: a page that loads nothing else works offline and
# cannot leak a token to a third party.
POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
          "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
          "form-action 'self'")


class SignIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    ticket: str


_SIGN_IN = BodyDecoder(SignIn)


class SignedIn(msgspec.Struct, frozen=True):
    token: str


class SignedInEnvelope(msgspec.Struct, frozen=True):
    success: bool
    data: SignedIn


class DashboardController(Controller):
    include_in_schema = False

    @get("/", media_type="text/html")
    async def page(self) -> File:
        """The dashboard; it reads only the documented API, with the token it is given."""
        return File(STATIC / "index.html", content_disposition_type="inline",
                    media_type="text/html; charset=utf-8",
                    headers={"Content-Security-Policy": POLICY, "Cache-Control": "no-cache",
                             "Referrer-Policy": "no-referrer"})

    @post("/dashboard/sign-in", status_code=200)
    async def sign_in(self, request: Request[Any, Any, Any], state: State) -> Any:
        """A one-time ticket of `chanalytics run`'s sign-in link, exchanged for its token."""
        asked = _SIGN_IN.decode(await request.body())  # a 400 naming the key at fault
        tickets = services(state).sign_in
        token = tickets.redeem(asked.ticket) if tickets is not None else None
        if token is None:
            log.info("dashboard.sign_in.refused")
            return error_response(401, "unauthorized",
                                  "this sign-in link was used, has expired or is unknown: "
                                  "sign in with the API token")
        log.info("dashboard.sign_in.exchanged")
        return SignedInEnvelope(success=True, data=SignedIn(token))


def assets() -> Router:
    return create_static_files_router(path=ASSETS, directories=[STATIC],
                                      name="dashboard", include_in_schema=False,
                                      cache_control=CacheControlHeader(no_cache=True))


ROUTES: list[type[Controller] | Router] = [DashboardController, assets()]
