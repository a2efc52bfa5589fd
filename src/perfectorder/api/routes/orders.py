"""Orders: capture, read, timeline, and the operator's verbs before fulfilment."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from perfectorder.api.deps import (
    MAX_ID,
    NO_NUL,
    IdempotencyKey,
    Metrics,
    OrderManager,
    OrderPlacer,
    OrdersReader,
    Services,
    idempotent,
)
from perfectorder.api.errors import error_responses
from perfectorder.api.schemas import (
    CancelRequest,
    EventPublic,
    HoldRequest,
    LineCancelRequest,
    OrderCreate,
    OrderPage,
    OrderPublic,
    OrderSummaryPublic,
    ReleaseRequest,
    RescheduleRequest,
    Timeline,
    order_public,
)
from perfectorder.domain.errors import InsufficientStock, InvalidInput, NotFound
from perfectorder.domain.orders import HoldReason, OrderStatus
from perfectorder.domain.values import Channel
from perfectorder.services import orders as order_service
from perfectorder.services import promise_risk, transit
from perfectorder.services.placing import place_order
from perfectorder.services.ports import OrderFilter
from perfectorder.services.promise_risk_ports import StoredScore

router = APIRouter(prefix="/api/v1/orders", tags=["orders"])
OrderId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.post(
    "",
    status_code=201,
    response_model=OrderPublic,
    operation_id="place_order",
    responses=error_responses(400, 409, 413, 422, 503),
    summary="Place an order: verify, reserve stock, promise a date, approve or hold",
)
def place(
    body: OrderCreate, services: Services, metrics: Metrics, caller: OrderPlacer, key: IdempotencyKey = None
) -> JSONResponse:
    command = body.to_command()

    def call() -> dict[str, object]:
        try:
            view = place_order(services, command, caller=caller)
        except InsufficientStock:
            metrics.reservations_refused.inc()
            raise
        metrics.orders_placed.labels(view.channel, view.status).inc()
        return order_public(view)

    return idempotent(
        services,
        caller=caller,
        scope="POST /api/v1/orders",
        key=key,
        payload=body,
        status=201,
        call=call,
        location=lambda b: f"/api/v1/orders/{b['id']}",
    )


@router.get("", response_model=OrderPage, operation_id="list_orders", responses=error_responses(422))
def list_orders(
    services: Services,
    caller: OrdersReader,
    status: OrderStatus | None = None,
    channel: Channel | None = None,
    customer_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    placed_from: datetime | None = Query(None, description="Inclusive, ISO 8601 with a time zone"),
    placed_to: datetime | None = Query(None, description="Exclusive, ISO 8601 with a time zone"),
    cursor: Annotated[str | None, Query(max_length=200, pattern=NO_NUL)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> OrderPage:
    flt = OrderFilter(
        status=status.value if status else None,
        channel=channel.value if channel else None,
        customer_id=customer_id,
        placed_from=_aware(placed_from, "placed_from"),
        placed_to=_aware(placed_to, "placed_to"),
    )
    page = order_service.list_orders(services, flt, cursor=cursor, limit=limit, caller=caller)
    return OrderPage(
        items=[OrderSummaryPublic.model_validate(i) for i in page.items], next_cursor=page.next_cursor
    )


def _aware(moment: datetime | None, field: str) -> datetime | None:
    from datetime import UTC

    if moment is None:
        return None
    try:
        # Normalised here: an offset at the ends of the calendar (year 1 or 9999) overflows in UTC.
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:
        raise InvalidInput(
            "out_of_range",
            f"{field} is outside the supported calendar; use a year from 2 to 9998",
            field=field,
        ) from None


@router.get(
    "/{order_id}", response_model=OrderPublic, operation_id="get_order", responses=error_responses(404, 422)
)
def get_order(order_id: OrderId, services: Services, caller: OrdersReader) -> JSONResponse:
    return JSONResponse(order_public(order_service.get_order(services, order_id, caller=caller)))


@router.get(
    "/{order_id}/timeline",
    response_model=Timeline,
    operation_id="get_order_timeline",
    responses=error_responses(404, 422),
)
def timeline(order_id: OrderId, services: Services, caller: OrdersReader) -> Timeline:
    events = order_service.order_timeline(services, order_id, caller=caller)
    return Timeline(order_id=order_id, events=[EventPublic.model_validate(e) for e in events])


@router.post(
    "/{order_id}/cancel",
    response_model=OrderPublic,
    operation_id="cancel_order",
    responses=error_responses(404, 409, 413, 422, 503),
)
def cancel(
    order_id: OrderId,
    body: CancelRequest,
    services: Services,
    caller: OrderManager,
    key: IdempotencyKey = None,
) -> JSONResponse:
    return idempotent(
        services,
        caller=caller,
        scope=f"POST /api/v1/orders/{order_id}/cancel",
        key=key,
        payload=body,
        status=200,
        call=lambda: order_public(
            order_service.cancel_order(
                services, order_id, reason=body.reason, open_return=body.open_return, caller=caller
            )
        ),
    )


@router.post(
    "/{order_id}/lines/{line_no}/cancel",
    response_model=OrderPublic,
    operation_id="cancel_order_line",
    responses=error_responses(404, 409, 413, 422, 503),
)
def cancel_line(
    order_id: OrderId,
    line_no: Annotated[int, Path(ge=1, le=1000)],
    body: LineCancelRequest,
    services: Services,
    caller: OrderManager,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Cancels units of one line before they ship: backordered units first, then reserved ones."""
    return idempotent(
        services,
        caller=caller,
        scope=f"POST /api/v1/orders/{order_id}/lines/{line_no}/cancel",
        key=key,
        payload=body,
        status=200,
        call=lambda: order_public(
            order_service.cancel_line(
                services, order_id, line_no, quantity=body.quantity, reason=body.reason, caller=caller
            )
        ),
    )


@router.post(
    "/{order_id}/holds",
    response_model=OrderPublic,
    operation_id="hold_order",
    responses=error_responses(404, 409, 413, 422, 503),
)
def hold(
    order_id: OrderId, body: HoldRequest, services: Services, caller: OrderManager, key: IdempotencyKey = None
) -> JSONResponse:
    return idempotent(
        services,
        caller=caller,
        scope=f"POST /api/v1/orders/{order_id}/holds",
        key=key,
        payload=body,
        status=200,
        call=lambda: order_public(
            order_service.hold_order(
                services, order_id, reason=HoldReason(body.reason), note=body.note, caller=caller
            )
        ),
    )


@router.post(
    "/{order_id}/holds/{hold_id}/release",
    response_model=OrderPublic,
    operation_id="release_hold",
    responses=error_responses(404, 409, 413, 422, 503),
)
def release(
    order_id: OrderId,
    hold_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    body: ReleaseRequest,
    services: Services,
    caller: OrderManager,
    key: IdempotencyKey = None,
) -> JSONResponse:
    return idempotent(
        services,
        caller=caller,
        scope=f"POST /api/v1/orders/{order_id}/holds/{hold_id}/release",
        key=key,
        payload=body,
        status=200,
        call=lambda: order_public(
            order_service.release_hold(services, order_id, hold_id, note=body.note, caller=caller)
        ),
    )


@router.post(
    "/{order_id}/reschedule",
    response_model=OrderPublic,
    operation_id="reschedule_order",
    responses=error_responses(404, 409, 413, 422, 503),
)
def reschedule(
    order_id: OrderId,
    body: RescheduleRequest,
    services: Services,
    caller: OrderManager,
    key: IdempotencyKey = None,
) -> JSONResponse:
    return idempotent(
        services,
        caller=caller,
        scope=f"POST /api/v1/orders/{order_id}/reschedule",
        key=key,
        payload=body,
        status=200,
        call=lambda: order_public(
            order_service.reschedule_order(
                services, order_id, new_date=body.new_date, reason=body.reason, caller=caller
            )
        ),
    )


class ParcelEtaPublic(BaseModel):
    tracking_number: str
    carrier: str
    service: str
    region: str = Field(description="The lane's destination: country and postal-code prefix")
    shipped_at: datetime
    delivered_at: datetime | None
    eta: date | None = Field(description="When it should arrive now (the day it came; null: lost)")
    basis: str = Field(
        description="delivered; carrier (its latest estimate); p50 (the lane's learned typical transit from "
        "the ship day); configured (the service's days); overdue (past those: the next working day); lost"
    )
    stalled: bool = Field(description="No scan for longer than the lane's usual longest silence (its P95)")
    silent_hours: float = Field(description="Hours since the last scan (or shipping)")


class OrderEtaPublic(BaseModel):
    order_id: int
    promised_date: date = Field(description="The original promise")
    expected_date: date | None = Field(description="When everything not yet delivered should have arrived")
    basis: str | None = Field(description="The latest parcel's basis; promise while something is unshipped")
    stalled: bool
    parcels: list[ParcelEtaPublic]


@router.get(
    "/{order_id}/eta",
    response_model=OrderEtaPublic,
    operation_id="get_order_eta",
    responses=error_responses(404, 422),
)
def eta(order_id: OrderId, services: Services, caller: OrdersReader) -> OrderEtaPublic:
    """The order's live ETA and each parcel's: the carrier's estimate when its events carry one, else
    the lane's learned transit from the ship day, with the basis used; stalled tracking flagged."""
    found = transit.order_eta(services, order_id, caller=caller)
    return OrderEtaPublic(
        order_id=found.order_id,
        promised_date=found.promised,
        expected_date=found.expected,
        basis=found.basis,
        stalled=found.stalled,
        parcels=[
            ParcelEtaPublic(
                tracking_number=p.shipment.tracking_number,
                carrier=p.shipment.carrier,
                service=p.shipment.service,
                region=p.lane.region,
                shipped_at=p.shipment.shipped_at,
                delivered_at=p.shipment.delivered_at,
                eta=p.eta.on,
                basis=p.eta.basis,
                stalled=p.eta.stalled,
                silent_hours=round(p.eta.silent_hours, 1),
            )
            for p in found.parcels
        ],
    )


class RiskReasonPublic(BaseModel):
    feature: str = Field(
        description="The model's feature: slack_days, stage_age, lane_late_rate, backlog_days, ..."
    )
    weight: float = Field(
        description="Its share of the log-odds against an average order (higher: more risk)"
    )
    text: str


class OrderRiskPublic(BaseModel):
    order_id: int
    probability: float = Field(description="The chance the order misses its original promise (0 to 1)")
    stage: str = Field(
        description="Where the order stood when scored: placed, on_hold, approved, picked, shipped"
    )
    action: str = Field(description="Suggested: expedite, re-source, split or notify")
    reasons: list[RiskReasonPublic] = Field(description="The strongest reasons first")
    rules_flag: bool = Field(
        description="Whether the board's rules (due by tomorrow, delay watch) flag it too"
    )
    scored_at: datetime


def risk_public(s: StoredScore) -> OrderRiskPublic:
    return OrderRiskPublic(
        order_id=s.order_id,
        probability=round(s.probability, 4),
        stage=s.stage,
        action=s.action,
        reasons=[RiskReasonPublic(feature=f, weight=w, text=t) for f, w, t in s.reasons],
        rules_flag=s.rule_flag,
        scored_at=s.scored_at,
    )


@router.get(
    "/{order_id}/risk",
    response_model=OrderRiskPublic,
    operation_id="get_order_risk",
    responses=error_responses(403, 404, 422),
)
def risk(order_id: OrderId, services: Services, caller: OrdersReader) -> OrderRiskPublic:
    """The order's chance of missing its promise from the latest scoring (the worker scores every
    open order every few minutes), with its reasons and a suggested action. 404 risk_not_scored
    for an order that is not open or not scored yet; a tenant's key (channel, customer) 403: the
    reasons are the store's own figures."""
    found = promise_risk.order_risk(services, order_id, caller=caller)
    if found is None:
        raise NotFound(
            "risk_not_scored",
            f"order {order_id} has no risk score: it is delivered or cancelled, or was placed after the "
            "last scoring (the worker scores open orders every few minutes)",
            field="order_id",
        )
    return risk_public(found)
