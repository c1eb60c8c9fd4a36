"""Operational endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from litestar import Response, get, head
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example

from chanalytics.api.dependencies import Readiness
from chanalytics.metrics import ApiMetrics


def _ready_example(ok: bool) -> list[Example]:
    checks = {"storage": True, "nats": ok, "stream": ok, "consumer": ok}
    return [Example(summary="chanalytics run", value={
        "status": "ok" if ok else "unavailable", "checks": checks})]


_NOT_READY = ("Not ready: storage does not answer, or NATS, the stream or the consumer is "
              "missing")
READY_RESPONSES = {
    200: ResponseSpec(data_container=dict[str, Any], generate_examples=False,
                      description="Ready: every check is true", examples=_ready_example(True)),
    503: ResponseSpec(data_container=dict[str, Any], generate_examples=False,
                      description=f"{_NOT_READY}; `checks` says which",
                      examples=_ready_example(False)),
}
HEAD_READY_RESPONSES = {503: ResponseSpec(data_container=None, description=_NOT_READY)}


@get("/health/live", sync_to_thread=False, include_in_schema=True, tags=["operations"],
     responses={200: ResponseSpec(data_container=dict[str, str], generate_examples=False,
                                  description="The process is up",
                                  examples=[Example(value={"status": "ok"})])})
def live() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@get("/health/ready", tags=["operations"], responses=READY_RESPONSES)
async def ready(readiness: NamedDependency[Readiness]) -> Response[dict[str, Any]]:
    """200 when storage answers and, where the process uses NATS, NATS is connected and the
    stream and consumer exist; else 503."""
    checks = await readiness()
    ok = all(checks.values())
    return Response({"status": "ok" if ok else "unavailable", "checks": checks},
                    status_code=200 if ok else 503)


@head("/health/live", sync_to_thread=False, tags=["operations"])
def live_head() -> None:
    """`/health/live` for load balancers that probe with HEAD: 200, no body."""


@head("/health/ready", tags=["operations"], responses=HEAD_READY_RESPONSES)
async def ready_head(readiness: NamedDependency[Readiness]) -> Response[None]:
    """`/health/ready` for load balancers that probe with HEAD: 200 or 503, no body."""
    checks = await readiness()
    return Response(None, status_code=200 if all(checks.values()) else 503)


@get("/metrics", tags=["operations"], media_type="text/plain; version=0.0.4")
async def metrics(metrics: NamedDependency[ApiMetrics]) -> Response[bytes]:
    """Prometheus text exposition."""
    return Response(metrics.render(), media_type="text/plain; version=0.0.4")


ROUTES = [live, live_head, ready, ready_head, metrics]
