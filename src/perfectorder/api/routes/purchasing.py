"""Suppliers, their products and purchase orders: the PO's life cycle and receipts against it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from pydantic import Field

from perfectorder.api.deps import (
    MAX_ID,
    NO_NUL,
    CatalogWriter,
    IdempotencyKey,
    Services,
    StockReader,
    StockWriter,
    idempotent,
)
from perfectorder.api.errors import error_responses
from perfectorder.api.rules import coded
from perfectorder.api.schemas import Amount, EventPublic, In, Out, Stated
from perfectorder.domain.access import Principal
from perfectorder.domain.purchasing import POStatus, RejectionReason
from perfectorder.services import purchasing
from perfectorder.services.inventory import MAX_MOVEMENT
from perfectorder.services.purchasing_ports import PODetail, SupplierProductView

router = APIRouter(prefix="/api/v1", tags=["purchasing"])
PoId = Annotated[int, Path(ge=1, le=MAX_ID)]
SupplierCode = Annotated[str, Path(max_length=32, pattern=NO_NUL)]
QUANTITY = coded("invalid_quantity", f"0 to {MAX_MOVEMENT} units")


class SupplierCreate(In):
    code: Annotated[str, Stated("code_required", non_blank=True)] = Field(max_length=32)
    name: str = Field(min_length=1, max_length=200)
    lead_time_days: Annotated[int, coded("invalid_days", "lead time is 0 to 365 days")] = Field(ge=0, le=365)
    working_days: str = Field(
        default="12345", min_length=1, max_length=7, description="ISO weekdays worked, Monday 1: 12345"
    )
    contact_email: str = Field(default="", max_length=254)
    contact_phone: str = Field(default="", max_length=40)


class SupplierPublic(Out):
    code: str
    name: str
    lead_time_days: int
    working_days: str
    contact_email: str
    contact_phone: str


class SupplierProductCreate(In):
    sku: Annotated[str, Stated("sku_required", non_blank=True)] = Field(max_length=64)
    supplier_sku: Annotated[str, Stated("sku_required", non_blank=True)] = Field(max_length=64)
    unit_cost: Decimal = Field(ge=Decimal(0), le=Decimal("1e12"), decimal_places=4)
    currency: str = Field(max_length=3)
    pack_size: Annotated[int, QUANTITY] = Field(default=1, ge=1, le=MAX_MOVEMENT)
    min_order_qty: Annotated[int, QUANTITY] = Field(default=1, ge=1, le=MAX_MOVEMENT)


class SupplierProductPublic(Out):
    supplier: str
    sku: str
    supplier_sku: str
    unit_cost: Amount
    currency: str
    pack_size: int
    min_order_qty: int


class POLineCreate(In):
    sku: str = Field(max_length=64)
    quantity: Annotated[int, QUANTITY] = Field(ge=1, le=MAX_MOVEMENT)


class POCreate(In):
    supplier: str = Field(max_length=32)
    warehouse: str = Field(max_length=32)
    lines: list[POLineCreate] = Field(min_length=1, max_length=200)
    promised_date: date | None = Field(
        default=None, description="When the goods should arrive; by default the supplier's lead time"
    )


class POConfirm(In):
    promised_date: date | None = Field(default=None, description="The date the supplier commits to")


class PODateChange(In):
    promised_date: date
    reason: str = Field(min_length=1, max_length=500)


class POCancel(In):
    reason: str = Field(default="", max_length=500)


class POReceiptCreate(In):
    sku: str = Field(max_length=64)
    accepted: Annotated[int, QUANTITY] = Field(default=0, ge=0, le=MAX_MOVEMENT)
    rejected: Annotated[int, QUANTITY] = Field(default=0, ge=0, le=MAX_MOVEMENT)
    reason: RejectionReason | None = Field(default=None, description="Why units were rejected")
    note: str = Field(default="", max_length=500)


class POSummaryPublic(Out):
    id: int
    number: str
    supplier: str
    warehouse: str
    status: str
    currency: str
    original_promised_date: date = Field(description="The date first promised; never changes")
    promised_date: date = Field(description="The date promised now")
    created_at: datetime
    sent_at: datetime | None
    confirmed_at: datetime | None
    lines: int
    ordered: int = Field(description="Units ordered")
    received: int = Field(description="Units accepted so far")
    rejected: int = Field(description="Units rejected so far")
    value: Amount = Field(description="Units ordered x unit cost")


class POLinePublic(Out):
    id: int
    sku: str
    quantity: int
    unit_cost: Amount
    received_qty: int
    rejected_qty: int
    outstanding: int


class POReceiptPublic(Out):
    id: int
    sku: str
    accepted: int
    rejected: int
    reason: str | None
    note: str
    received_at: datetime
    actor: str


class PODetailPublic(POSummaryPublic):
    line_items: list[POLinePublic]
    receipts: list[POReceiptPublic]
    timeline: list[EventPublic]


def _detail(found: PODetail) -> dict[str, object]:
    body = POSummaryPublic.model_validate(found.summary).model_dump(mode="json")
    more = {
        "line_items": [POLinePublic.model_validate(x) for x in found.lines],
        "receipts": [POReceiptPublic.model_validate(x) for x in found.receipts],
        "timeline": [EventPublic.model_validate(x) for x in found.timeline],
    }
    return PODetailPublic.model_validate(body | more).model_dump(mode="json")


@router.post(
    "/suppliers",
    status_code=201,
    response_model=SupplierPublic,
    operation_id="create_supplier",
    responses=error_responses(403, 409, 413, 422, 503),
)
def create_supplier(
    body: SupplierCreate, services: Services, caller: CatalogWriter, key: IdempotencyKey = None
) -> JSONResponse:
    return idempotent(
        services,
        caller=caller,
        scope="POST /api/v1/suppliers",
        key=key,
        payload=body,
        status=201,
        call=lambda: SupplierPublic.model_validate(
            purchasing.create_supplier(services, purchasing.SupplierInput(**body.model_dump()))
        ).model_dump(mode="json"),
        # A header is Latin-1: a code in any other script goes in percent-encoded.
        location=lambda made: f"/api/v1/suppliers/{quote(made['code'], safe='')}",
    )


@router.get(
    "/suppliers",
    response_model=list[SupplierPublic],
    operation_id="list_suppliers",
    responses=error_responses(403, 422),
)
def list_suppliers(
    services: Services, caller: StockReader, limit: Annotated[int, Query(ge=1, le=1000)] = 200
) -> list[SupplierPublic]:
    return [
        SupplierPublic.model_validate(s)
        for s in purchasing.list_suppliers(services, limit=limit, caller=caller)
    ]


@router.get(
    "/suppliers/{code}",
    response_model=SupplierPublic,
    operation_id="get_supplier",
    responses=error_responses(403, 404, 422),
)
def get_supplier(code: SupplierCode, services: Services, caller: StockReader) -> SupplierPublic:
    return SupplierPublic.model_validate(purchasing.get_supplier(services, code, caller=caller))


@router.post(
    "/suppliers/{code}/products",
    status_code=201,
    response_model=SupplierProductPublic,
    operation_id="add_supplier_product",
    responses=error_responses(403, 404, 409, 413, 422, 503),
)
def add_supplier_product(
    code: SupplierCode,
    body: SupplierProductCreate,
    services: Services,
    caller: CatalogWriter,
    key: IdempotencyKey = None,
) -> JSONResponse:
    product = SupplierProductView(supplier=code, **body.model_dump())
    return idempotent(
        services,
        caller=caller,
        scope=f"POST /api/v1/suppliers/{code}/products",
        key=key,
        payload=body,
        status=201,
        call=lambda: SupplierProductPublic.model_validate(
            purchasing.add_supplier_product(services, product)
        ).model_dump(mode="json"),
    )


@router.get(
    "/suppliers/{code}/products",
    response_model=list[SupplierProductPublic],
    operation_id="list_supplier_products",
    responses=error_responses(403, 404, 422),
)
def list_supplier_products(
    code: SupplierCode, services: Services, caller: StockReader
) -> list[SupplierProductPublic]:
    return [
        SupplierProductPublic.model_validate(x)
        for x in purchasing.supplier_products(services, code, caller=caller)
    ]


@router.post(
    "/purchase-orders",
    status_code=201,
    response_model=PODetailPublic,
    operation_id="create_purchase_order",
    responses=error_responses(403, 404, 409, 413, 422, 503),
)
def create_purchase_order(
    body: POCreate, services: Services, caller: CatalogWriter, key: IdempotencyKey = None
) -> JSONResponse:
    return idempotent(
        services,
        caller=caller,
        scope="POST /api/v1/purchase-orders",
        key=key,
        payload=body,
        status=201,
        call=lambda: _detail(
            purchasing.create_purchase_order(
                services,
                supplier=body.supplier,
                warehouse=body.warehouse,
                lines=[(x.sku, x.quantity) for x in body.lines],
                promised_date=body.promised_date,
                actor=caller.actor,
            )
        ),
        location=lambda made: f"/api/v1/purchase-orders/{made['id']}",
    )


@router.get(
    "/purchase-orders",
    response_model=list[POSummaryPublic],
    operation_id="list_purchase_orders",
    responses=error_responses(403, 422),
)
def list_purchase_orders(
    services: Services,
    caller: StockReader,
    status: Annotated[POStatus | None, Query(description="Only POs in this status")] = None,
    supplier: Annotated[str | None, Query(max_length=32, pattern=NO_NUL)] = None,
    before_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Newest first: the page after")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[POSummaryPublic]:
    found = purchasing.list_purchase_orders(
        services,
        status=status.value if status else None,
        supplier=supplier,
        after_id=before_id,
        limit=limit,
        caller=caller,
    )
    return [POSummaryPublic.model_validate(x) for x in found]


@router.get(
    "/purchase-orders/{po_id}",
    response_model=PODetailPublic,
    operation_id="get_purchase_order",
    responses=error_responses(403, 404, 422),
)
def get_purchase_order(po_id: PoId, services: Services, caller: StockReader) -> JSONResponse:
    return JSONResponse(_detail(purchasing.get_purchase_order(services, po_id, caller=caller)))


def _verb(
    services: Services,
    caller: Principal,
    key: str | None,
    po_id: int,
    verb: str,
    body: In,
    call: Callable[[], PODetail],
) -> JSONResponse:
    return idempotent(
        services,
        caller=caller,
        scope=f"POST /api/v1/purchase-orders/{po_id}/{verb}",
        key=key,
        payload=body,
        status=200,
        call=lambda: _detail(call()),
    )


class POSend(In):
    pass


@router.post(
    "/purchase-orders/{po_id}/send",
    response_model=PODetailPublic,
    operation_id="send_purchase_order",
    responses=error_responses(403, 404, 409, 413, 422, 503),
)
def send(po_id: PoId, services: Services, caller: CatalogWriter, key: IdempotencyKey = None) -> JSONResponse:
    return _verb(
        services,
        caller,
        key,
        po_id,
        "send",
        POSend(),
        lambda: purchasing.send(services, po_id, actor=caller.actor),
    )


@router.post(
    "/purchase-orders/{po_id}/confirm",
    response_model=PODetailPublic,
    operation_id="confirm_purchase_order",
    responses=error_responses(403, 404, 409, 413, 422, 503),
)
def confirm(
    po_id: PoId, body: POConfirm, services: Services, caller: CatalogWriter, key: IdempotencyKey = None
) -> JSONResponse:
    """The supplier's confirmation, with the date it commits to; the original date is kept."""
    return _verb(
        services,
        caller,
        key,
        po_id,
        "confirm",
        body,
        lambda: purchasing.confirm(services, po_id, promised_date=body.promised_date, actor=caller.actor),
    )


@router.post(
    "/purchase-orders/{po_id}/change-date",
    response_model=PODetailPublic,
    operation_id="change_purchase_order_date",
    responses=error_responses(403, 404, 409, 413, 422, 503),
)
def change_date(
    po_id: PoId, body: PODateChange, services: Services, caller: CatalogWriter, key: IdempotencyKey = None
) -> JSONResponse:
    """The supplier moves its date; the original date is kept."""
    return _verb(
        services,
        caller,
        key,
        po_id,
        "change-date",
        body,
        lambda: purchasing.change_date(
            services, po_id, promised_date=body.promised_date, reason=body.reason, actor=caller.actor
        ),
    )


@router.post(
    "/purchase-orders/{po_id}/cancel",
    response_model=PODetailPublic,
    operation_id="cancel_purchase_order",
    responses=error_responses(403, 404, 409, 413, 422, 503),
)
def cancel(
    po_id: PoId, body: POCancel, services: Services, caller: CatalogWriter, key: IdempotencyKey = None
) -> JSONResponse:
    return _verb(
        services,
        caller,
        key,
        po_id,
        "cancel",
        body,
        lambda: purchasing.cancel(services, po_id, reason=body.reason, actor=caller.actor),
    )


@router.post(
    "/purchase-orders/{po_id}/receipts",
    status_code=201,
    response_model=PODetailPublic,
    operation_id="receive_purchase_order",
    responses=error_responses(403, 404, 409, 413, 422, 503),
)
def receive(
    po_id: PoId, body: POReceiptCreate, services: Services, caller: StockWriter, key: IdempotencyKey = None
) -> JSONResponse:
    """Goods arrived: accepted units go on the shelf with a ledger row naming the PO, rejected ones
    are recorded with their reason. 409 over_receipt past ordered x (1 + PERFECTORDER_PO_OVER_RECEIPT
    %), with what can still be received in `details`."""
    receipt = purchasing.Receipt(
        sku=body.sku,
        accepted=body.accepted,
        rejected=body.rejected,
        reason=body.reason.value if body.reason else None,
        note=body.note,
    )
    return idempotent(
        services,
        caller=caller,
        scope=f"POST /api/v1/purchase-orders/{po_id}/receipts",
        key=key,
        payload=body,
        status=201,
        call=lambda: _detail(purchasing.receive(services, po_id, receipt, actor=caller.actor)),
    )
