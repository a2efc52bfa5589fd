"""Stock levels, receipts, adjustments and the ledger."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from perfectorder.api.deps import (
    MAX_ID,
    NO_NUL,
    IdempotencyKey,
    Services,
    StockReader,
    StockWriter,
    idempotent,
)
from perfectorder.api.errors import error_responses
from perfectorder.api.schemas import MovementPublic, StockAdjustment, StockPublic, StockReceipt
from perfectorder.services import inventory

router = APIRouter(prefix="/api/v1/stock", tags=["stock"])
Sku = Annotated[str | None, Query(max_length=64, pattern=NO_NUL)]
WarehouseCode = Annotated[str | None, Query(max_length=32, pattern=NO_NUL)]


@router.get("", response_model=list[StockPublic], operation_id="list_stock", responses=error_responses(422))
def levels(
    services: Services,
    _caller: StockReader,
    sku: Sku = None,
    warehouse: WarehouseCode = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[StockPublic]:
    return [
        StockPublic.model_validate(s)
        for s in inventory.stock_levels(services, sku=sku, warehouse=warehouse, limit=limit)
    ]


@router.post(
    "/receipts",
    status_code=201,
    response_model=StockPublic,
    operation_id="receive_stock",
    responses=error_responses(404, 409, 413, 422, 503),
)
def receive(
    body: StockReceipt, services: Services, caller: StockWriter, key: IdempotencyKey = None
) -> JSONResponse:
    return idempotent(
        services,
        caller=caller,
        scope="POST /api/v1/stock/receipts",
        key=key,
        payload=body,
        status=201,
        call=lambda: StockPublic.model_validate(
            inventory.receive_stock(
                services,
                sku=body.sku,
                warehouse=body.warehouse,
                quantity=body.quantity,
                reason=body.reason,
                actor="api",
            )
        ).model_dump(mode="json"),
    )


@router.post(
    "/adjustments",
    status_code=201,
    response_model=StockPublic,
    operation_id="adjust_stock",
    responses=error_responses(404, 409, 413, 422, 503),
)
def adjust(
    body: StockAdjustment, services: Services, caller: StockWriter, key: IdempotencyKey = None
) -> JSONResponse:
    return idempotent(
        services,
        caller=caller,
        scope="POST /api/v1/stock/adjustments",
        key=key,
        payload=body,
        status=201,
        call=lambda: StockPublic.model_validate(
            inventory.adjust_stock(
                services,
                sku=body.sku,
                warehouse=body.warehouse,
                delta=body.delta,
                reason=body.reason,
                actor="api",
            )
        ).model_dump(mode="json"),
    )


@router.get(
    "/ledger",
    response_model=list[MovementPublic],
    operation_id="stock_ledger",
    responses=error_responses(422),
)
def ledger(
    services: Services,
    caller: StockReader,
    sku: Sku = None,
    warehouse: WarehouseCode = None,
    after_id: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[MovementPublic]:
    rows = inventory.ledger(
        services, sku=sku, warehouse=warehouse, after_id=after_id, limit=limit, caller=caller
    )
    return [MovementPublic.model_validate(r) for r in rows]
