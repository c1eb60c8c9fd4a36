"""Operational endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from litestar import Response, get
from litestar.datastructures import State

from chanalytics.readiness import readiness


@get("/health/live", sync_to_thread=False, include_in_schema=True, tags=["operations"])
def live() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@get("/health/ready", tags=["operations"])
async def ready(state: State) -> Response[dict[str, Any]]:
    """200 when storage answers, NATS is connected and the stream and consumer exist, else 503."""
    checks = await readiness(state.storage, state.nats_check)
    ok = all(checks.values())
    return Response({"status": "ok" if ok else "unavailable", "checks": checks},
                    status_code=200 if ok else 503)


@get("/metrics", tags=["operations"], media_type="text/plain; version=0.0.4")
async def metrics(state: State) -> Response[bytes]:
    """Prometheus text exposition."""
    return Response(state.metrics.render(), media_type="text/plain; version=0.0.4")


ROUTES = [live, ready, metrics]
