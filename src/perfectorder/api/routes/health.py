"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import anyio
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from perfectorder.bootstrap import Application
from perfectorder.domain.errors import Unavailable

router = APIRouter(tags=["health"])
READY_PROBE_SECONDS = 1.5


@router.get("/healthz", operation_id="healthz", openapi_extra={"x-permission": "public"})
def healthz() -> dict[str, str]:
    """The process is up. Says nothing about the database: that is /readyz."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    operation_id="readyz",
    responses={503: {"description": "Not ready"}},
    openapi_extra={"x-permission": "public"},
)
async def readyz(request: Request) -> JSONResponse:
    application: Application = request.app.state.application
    try:
        # A frozen database holds a connection open without a word: a probe must answer anyway, in
        # time for the orchestrator's check. The thread is left to finish on its own.
        with anyio.fail_after(READY_PROBE_SECONDS):
            current, head = await anyio.to_thread.run_sync(
                application.migrator.readiness, abandon_on_cancel=True
            )
    except (Unavailable, TimeoutError):
        return JSONResponse(
            {"status": "unavailable", "database": "unreachable"},
            status_code=503,
            headers={"Retry-After": "5"},
        )
    if current != head:
        return JSONResponse(
            {
                "status": "unavailable",
                "database": "ok",
                "migrations": {"current": current, "head": head},
                "hint": "run `perfectorder db upgrade`",
            },
            status_code=503,
        )
    return JSONResponse({"status": "ok", "database": "ok", "migrations": {"current": current, "head": head}})


@router.get(
    "/metrics", operation_id="metrics", response_class=Response, openapi_extra={"x-permission": "public"}
)
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
