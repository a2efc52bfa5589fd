"""Stages 4 to 8 over HTTP: pick lists and scans, packing, shipping, carrier events, feedback, returns."""

from __future__ import annotations

import html
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, JSONResponse

from perfectorder.api.deps import (
    MAX_ID,
    FeedbackWriter,
    Fulfiller,
    IdempotencyKey,
    OrdersReader,
    ReturnOpener,
    Services,
    idempotent,
)
from perfectorder.api.errors import error_responses
from perfectorder.api.fulfilment_schemas import (
    CarrierEventBatch,
    CarrierEventOutcome,
    CarrierEventResults,
    ClaimPublic,
    FactLine,
    FeedbackCreate,
    FeedbackPublic,
    IssuePublic,
    OrderFactsPublic,
    PackageItem,
    PackagePublic,
    PackagesPublic,
    PackRequest,
    PickListPublic,
    PickListsPublic,
    ReshipmentPublic,
    ReturnCreate,
    ReturnLinePublic,
    ReturnPublic,
    ReturnReceive,
    ScanRequest,
    ShipmentCreated,
    ShipmentPublic,
    ShipRequest,
    ShortRequest,
    TaskPublic,
    WaveRequest,
)
from perfectorder.services import aftersales, facts, fulfilment, tracking
from perfectorder.services.fulfilment_ports import ReturnRecord, TaskRecord

router = APIRouter(prefix="/api/v1", tags=["fulfilment"])
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
WRITE_ERRORS = error_responses(404, 409, 413, 422, 503)


def _task(t: TaskRecord) -> dict[str, Any]:
    return TaskPublic(
        id=t.id,
        pick_list_id=t.pick_list_id,
        order_id=t.order_id,
        sku=t.sku,
        bin_location=t.bin_location,
        quantity=t.quantity,
        picked_qty=t.picked_qty,
        status=t.status,
    ).model_dump(mode="json")


def _return(r: ReturnRecord) -> dict[str, Any]:
    return ReturnPublic(
        id=r.id,
        order_id=r.order_id,
        reason=r.reason,
        criterion=r.criterion,
        stage=r.stage,
        status=r.status,
        note=r.note,
        created_at=r.created_at,
        received_at=r.received_at,
        refund_amount=r.refund_amount,
        exchange_order_id=r.exchange_order_id,
        lines=[
            ReturnLinePublic(
                sku=x.sku, quantity=x.quantity, restocked_qty=x.restocked_qty, scrapped_qty=x.scrapped_qty
            )
            for x in r.lines
        ],
    ).model_dump(mode="json")


@router.post(
    "/orders/{order_id}/release",
    status_code=201,
    response_model=PickListsPublic,
    operation_id="release_to_picking",
    responses=WRITE_ERRORS,
)
def release(order_id: Id, services: Services, caller: Fulfiller, key: IdempotencyKey = None) -> JSONResponse:
    """Puts the order's reserved units on pick lists (one per warehouse, sorted by bin)."""
    return idempotent(
        services,
        caller=caller,
        scope=f"POST /orders/{order_id}/release",
        key=key,
        payload=PickListsPublic(pick_lists=[]),
        status=201,
        call=lambda: {"pick_lists": fulfilment.release_to_picking(services, order_id, caller=caller)},
    )


@router.post(
    "/pick-lists/waves",
    status_code=201,
    response_model=PickListsPublic,
    operation_id="create_wave",
    responses=WRITE_ERRORS,
)
def wave(
    body: WaveRequest, services: Services, caller: Fulfiller, key: IdempotencyKey = None
) -> JSONResponse:
    """Batches a warehouse's approved orders due by the cut-off day into one pick list."""
    return idempotent(
        services,
        caller=caller,
        scope="POST /pick-lists/waves",
        key=key,
        payload=body,
        status=201,
        call=lambda: {
            "pick_lists": fulfilment.create_wave(
                services, warehouse=body.warehouse, ship_by=body.ship_by, limit=body.limit, caller=caller
            )
        },
    )


@router.get(
    "/pick-lists/{pick_list_id}",
    response_model=PickListPublic,
    operation_id="get_pick_list",
    responses=error_responses(404, 422),
)
def get_pick_list(pick_list_id: Id, services: Services, _caller: Fulfiller) -> JSONResponse:
    tasks = facts.pick_list(services, pick_list_id)
    return JSONResponse({"id": pick_list_id, "tasks": [_task(t) for t in tasks]})


@router.post(
    "/pick-tasks/{task_id}/scan", response_model=TaskPublic, operation_id="scan_pick", responses=WRITE_ERRORS
)
def scan(task_id: Id, body: ScanRequest, services: Services, caller: Fulfiller) -> JSONResponse:
    """Confirms a pick. A wrong item or an over-pick answers 409 and is recorded as a picking error."""
    result = fulfilment.scan(services, task_id, code=body.code, quantity=body.quantity, caller=caller)
    return JSONResponse(
        _task(
            next(t for t in facts.order_facts(services, result.task.order_id).pick_tasks if t.id == task_id)
        )
    )


@router.post(
    "/pick-tasks/{task_id}/short",
    response_model=TaskPublic,
    operation_id="short_pick",
    responses=WRITE_ERRORS,
)
def short(task_id: Id, body: ShortRequest, services: Services, caller: Fulfiller) -> JSONResponse:
    """Fewer units at the bin than expected: re-sources the rest from another warehouse or backorders it."""
    task = fulfilment.short_pick(services, task_id, found=body.found, caller=caller)
    return JSONResponse(
        _task(next(t for t in facts.order_facts(services, task.order_id).pick_tasks if t.id == task_id))
    )


@router.post(
    "/orders/{order_id}/packages",
    status_code=201,
    response_model=PackagesPublic,
    operation_id="pack_order",
    responses=WRITE_ERRORS,
)
def pack(
    order_id: Id, body: PackRequest, services: Services, caller: Fulfiller, key: IdempotencyKey = None
) -> JSONResponse:
    """Packs the picked items; differences from what was picked are recorded as packing errors."""
    specs = [
        fulfilment.PackageSpec(
            tuple((i.sku, i.quantity) for i in p.items),
            p.weight_kg,
            (p.length_cm, p.width_cm, p.height_cm),
            p.warehouse,
        )
        for p in body.packages
    ]
    return idempotent(
        services,
        caller=caller,
        scope=f"POST /orders/{order_id}/packages",
        key=key,
        payload=body,
        status=201,
        call=lambda: {"packages": fulfilment.pack(services, order_id, specs, caller=caller)},
    )


@router.get(
    "/orders/{order_id}/packing-slip",
    response_class=HTMLResponse,
    operation_id="packing_slip",
    responses=error_responses(404, 422),
)
def packing_slip(order_id: Id, services: Services, caller: OrdersReader) -> HTMLResponse:
    """A printable packing slip: what is in each package."""
    found = facts.order_facts(services, order_id, caller=caller)
    a = found.order.shipping_address
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Packing slip</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #999;padding:4px 8px}</style></head><body>",
        f"<h1>Packing slip — order {found.order.id} ({html.escape(found.order.external_ref)})</h1>",
        f"<p>{html.escape(a.name)}<br>{html.escape(a.line1)}<br>{html.escape(a.postal_code)} "
        f"{html.escape(a.city)}<br>{html.escape(a.country)}</p>",
    ]
    for package in found.packages:
        parts.append(f"<h2>Package {package.id}</h2><table><tr><th>SKU</th><th>Quantity</th></tr>")
        parts += [f"<tr><td>{html.escape(sku)}</td><td>{qty}</td></tr>" for sku, qty in package.items]
        parts.append("</table>")
    parts.append("</body></html>")
    return HTMLResponse("".join(parts))


@router.post(
    "/orders/{order_id}/packages/{package_id}/ship",
    status_code=201,
    response_model=ShipmentCreated,
    operation_id="ship_package",
    responses=WRITE_ERRORS,
)
def ship(
    order_id: Id,
    package_id: Id,
    body: ShipRequest,
    services: Services,
    caller: Fulfiller,
    key: IdempotencyKey = None,
) -> JSONResponse:
    return idempotent(
        services,
        caller=caller,
        scope=f"POST /orders/{order_id}/packages/{package_id}/ship",
        key=key,
        payload=body,
        status=201,
        call=lambda: {
            "shipment_id": fulfilment.ship(
                services,
                order_id,
                package_id,
                carrier=body.carrier,
                service=body.service,
                tracking_number=body.tracking_number,
                caller=caller,
            )
        },
    )


@router.post(
    "/carrier-events",
    response_model=CarrierEventResults,
    operation_id="record_carrier_events",
    responses=WRITE_ERRORS,
)
def carrier_events(body: CarrierEventBatch, services: Services, caller: Fulfiller) -> CarrierEventResults:
    """A batch of tracking events. Idempotent by (carrier, event_id): a replayed event changes nothing."""
    results = tracking.record_carrier_events(
        services,
        [
            tracking.CarrierEventInput(
                e.carrier,
                e.event_id,
                e.tracking_number,
                e.type,
                e.occurred_at,
                e.detail,
                e.estimated_delivery,
            )
            for e in body.events
        ],
        caller=caller,
    )
    return CarrierEventResults(
        results=[CarrierEventOutcome(event_id=r.event_id, outcome=r.outcome) for r in results]
    )


@router.post(
    "/orders/{order_id}/feedback",
    response_model=FeedbackPublic,
    operation_id="give_feedback",
    responses=WRITE_ERRORS,
)
def feedback(
    order_id: Id, body: FeedbackCreate, services: Services, caller: FeedbackWriter
) -> FeedbackPublic:
    """One feedback per order, editable for 30 days."""
    record = aftersales.give_feedback(
        services,
        order_id,
        aftersales.FeedbackInput(
            body.rating, body.arrived_complete, body.undamaged, body.as_described, body.comment
        ),
        caller=caller,
    )
    return FeedbackPublic.model_validate(record, from_attributes=True)


@router.post(
    "/orders/{order_id}/returns",
    status_code=201,
    response_model=ReturnPublic,
    operation_id="open_return",
    responses=WRITE_ERRORS,
)
def open_return(
    order_id: Id, body: ReturnCreate, services: Services, caller: ReturnOpener, key: IdempotencyKey = None
) -> JSONResponse:
    """A return authorisation; the reason says which Perfect Order criterion and stage failed."""
    return idempotent(
        services,
        caller=caller,
        scope=f"POST /orders/{order_id}/returns",
        key=key,
        payload=body,
        status=201,
        call=lambda: _return(
            aftersales.open_return(
                services,
                order_id,
                reason=body.reason,
                lines=[(x.sku, x.quantity) for x in body.lines],
                note=body.note,
                caller=caller,
            )
        ),
    )


@router.post(
    "/orders/{order_id}/claims/{claim_id}/reship",
    status_code=201,
    response_model=ReshipmentPublic,
    operation_id="reship_lost_parcel",
    responses=WRITE_ERRORS,
)
def reship_lost_parcel(
    order_id: Id, claim_id: Id, services: Services, caller: Fulfiller, key: IdempotencyKey = None
) -> JSONResponse:
    """Ships a lost parcel's units again as a new order linked to the loss claim."""
    return idempotent(
        services,
        caller=caller,
        scope=f"POST /orders/{order_id}/claims/{claim_id}/reship",
        key=key,
        payload=ReshipmentPublic(order_id=order_id, claim_id=claim_id, replacement_order_id=0),
        status=201,
        call=lambda: ReshipmentPublic(
            order_id=order_id,
            claim_id=claim_id,
            replacement_order_id=aftersales.reship_lost_parcel(services, order_id, claim_id, caller=caller),
        ).model_dump(mode="json"),
    )


@router.post(
    "/returns/{return_id}/receive",
    response_model=ReturnPublic,
    operation_id="receive_return",
    responses=WRITE_ERRORS,
)
def receive_return(
    return_id: Id, body: ReturnReceive, services: Services, caller: Fulfiller, key: IdempotencyKey = None
) -> JSONResponse:
    """Inspects what came back: restock or scrap each unit; refund, or ship an exchange."""
    return idempotent(
        services,
        caller=caller,
        scope=f"POST /returns/{return_id}/receive",
        key=key,
        payload=body,
        status=200,
        call=lambda: _return(
            aftersales.receive_return(
                services,
                return_id,
                lines=[aftersales.ReceivedLine(x.sku, x.restock, x.scrap) for x in body.lines],
                refund=body.refund,
                exchange=body.exchange,
                caller=caller,
            )
        ),
    )


@router.get(
    "/returns/{return_id}",
    response_model=ReturnPublic,
    operation_id="get_return",
    responses=error_responses(404, 422),
)
def get_return(return_id: Id, services: Services, caller: OrdersReader) -> JSONResponse:
    return JSONResponse(_return(aftersales.get_return(services, return_id, caller=caller)))


@router.get(
    "/orders/{order_id}/facts",
    response_model=OrderFactsPublic,
    operation_id="get_order_facts",
    responses=error_responses(404, 422),
)
def order_facts(order_id: Id, services: Services, caller: OrdersReader) -> JSONResponse:
    """Everything the Perfect Order evaluation reads about this order, issues with criterion and stage."""
    f = facts.order_facts(services, order_id, caller=caller)
    o = f.order
    body = OrderFactsPublic(
        order_id=o.id,
        status=o.status,
        channel=o.channel,
        placed_at=o.placed_at,
        promised_date=o.promised_date,
        rescheduled_date=o.rescheduled_date,
        requested_delivery_date=o.requested_delivery_date,
        lines=[
            FactLine(
                line_no=x.line_no,
                sku=x.sku,
                quantity=x.quantity,
                shipped_qty=x.shipped_qty,
                backordered_qty=x.backordered_qty,
                cancelled_qty=x.cancelled_qty,
            )
            for x in f.lines
        ],
        pick_lines=len(f.pick_tasks),
        pick_lines_correct=sum(t.correct for t in f.pick_tasks),
        packages=[
            PackagePublic(
                id=p.id,
                warehouse_id=p.warehouse_id,
                weight_kg=p.weight_kg,
                length_cm=p.length_cm,
                width_cm=p.width_cm,
                height_cm=p.height_cm,
                status=p.status,
                items=[PackageItem(sku=s, quantity=q) for s, q in p.items],
            )
            for p in f.packages
        ],
        shipments=[ShipmentPublic.model_validate(s, from_attributes=True) for s in f.shipments],
        issues=[IssuePublic.model_validate(i, from_attributes=True) for i in f.issues],
        claims=[ClaimPublic.model_validate(c, from_attributes=True) for c in f.claims],
        returns=[ReturnPublic.model_validate(_return(r)) for r in f.returns],
        feedback=FeedbackPublic.model_validate(f.feedback, from_attributes=True) if f.feedback else None,
    )
    return JSONResponse(body.model_dump(mode="json"))
