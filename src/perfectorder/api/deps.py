"""Typed dependencies shared by the routes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from perfectorder.api.middleware import ApiMetrics
from perfectorder.api.rules import coded
from perfectorder.api.security import Require
from perfectorder.domain.access import Permission, Principal
from perfectorder.services.context import ServiceContext
from perfectorder.services.idempotency import MAX_KEY_LENGTH, fingerprint, run_idempotent

MAX_ID = 2**31 - 1
# BodySizeLimit refuses a NUL anywhere in the URL (invalid_characters); this says so in the document.
NO_NUL = r"^[^\u0000]*$"


# Async on purpose: they only read app.state, and FastAPI would run a plain def in a worker thread.
async def _services(request: Request) -> ServiceContext:
    services: ServiceContext = request.app.state.services
    return services


def _reports(request: Request, response: Response) -> ServiceContext:
    """Reads that may lag a moment: from the read replica when one is configured, saying where they
    came from and as of when (a plain def: asking the replica is a query, kept off the event loop)."""
    application = request.app.state.application
    fresh = application.read_freshness()
    if fresh is not None:
        source, as_of = fresh
        response.headers["Read-Source"] = source
        response.headers["Read-As-Of"] = as_of.isoformat()
    reports: ServiceContext = application.reports
    return reports


async def _metrics(request: Request) -> ApiMetrics:
    metrics: ApiMetrics = request.app.state.metrics
    return metrics


Services = Annotated[ServiceContext, Depends(_services)]
Reports = Annotated[ServiceContext, Depends(_reports)]
P = Permission
OrdersReader = Annotated[Principal, Depends(Require(P.ORDERS_READ))]
OrderPlacer = Annotated[Principal, Depends(Require(P.ORDERS_PLACE))]
OrderManager = Annotated[Principal, Depends(Require(P.ORDERS_MANAGE))]
CatalogReader = Annotated[Principal, Depends(Require(P.CATALOG_READ))]
CatalogWriter = Annotated[Principal, Depends(Require(P.CATALOG_WRITE))]
StockReader = Annotated[Principal, Depends(Require(P.STOCK_READ))]
StockWriter = Annotated[Principal, Depends(Require(P.STOCK_WRITE))]
CustomersReader = Annotated[Principal, Depends(Require(P.CUSTOMERS_READ))]
CustomersWriter = Annotated[Principal, Depends(Require(P.CUSTOMERS_WRITE))]
AuditReader = Annotated[Principal, Depends(Require(P.AUDIT_READ))]
Fulfiller = Annotated[Principal, Depends(Require(P.FULFILMENT))]
FeedbackWriter = Annotated[Principal, Depends(Require(P.FEEDBACK_WRITE))]
ReturnOpener = Annotated[Principal, Depends(Require(P.RETURNS_OPEN))]
WebhookManager = Annotated[Principal, Depends(Require(P.WEBHOOKS_MANAGE))]
ReportsReader = Annotated[Principal, Depends(Require(P.REPORTS_READ))]
Metrics = Annotated[ApiMetrics, Depends(_metrics)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=MAX_KEY_LENGTH,
        # Blank keys are refused (the same rule run_idempotent checks for callers other than the API).
        pattern=r"\S",
        description="Send the same key when retrying: the first answer is returned, the work is done once",
    ),
    coded("invalid_idempotency_key", f"use 1 to {MAX_KEY_LENGTH} characters"),
]


def idempotent(
    ctx: ServiceContext,
    *,
    caller: Principal,
    scope: str,
    key: str | None,
    payload: BaseModel,
    status: int,
    call: Callable[[], dict[str, Any]],
    location: Callable[[dict[str, Any]], str] | None = None,
) -> JSONResponse:
    """Runs a POST so that a retry with the same Idempotency-Key answers exactly as the first call did.
    Keys belong to their caller: another caller's identical key is a different key."""
    result = run_idempotent(
        ctx,
        scope=f"{caller.actor} {scope}"[:200],
        key=key,
        request_fingerprint=fingerprint(payload.model_dump(mode="json")),
        operation=lambda: (status, call()),
    )
    headers = {"Idempotent-Replayed": "true"} if result.replayed else {}
    if location is not None and result.status_code == 201:
        headers["Location"] = location(result.body)
    return JSONResponse(result.body, status_code=result.status_code, headers=headers)
