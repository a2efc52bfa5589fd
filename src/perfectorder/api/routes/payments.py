"""Payments: an order's and a customer's money, invoices settled, captures by hand."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from perfectorder.api.deps import (
    MAX_ID,
    CustomersReader,
    IdempotencyKey,
    OrderManager,
    OrdersReader,
    Services,
    idempotent,
)
from perfectorder.api.errors import error_responses
from perfectorder.api.schemas import (
    CaptureRequest,
    PaymentList,
    PaymentRecordPublic,
    SettlementPublic,
    SettleRequest,
)
from perfectorder.services import payments

router = APIRouter(prefix="/api/v1", tags=["payments"])
OrderId = Annotated[int, Path(ge=1, le=MAX_ID)]
CustomerId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get(
    "/orders/{order_id}/payments",
    response_model=PaymentList,
    operation_id="order_payments",
    responses=error_responses(404, 422),
)
def order_payments(order_id: OrderId, services: Services, caller: OrdersReader) -> PaymentList:
    found = payments.order_payments(services, order_id, caller=caller)
    return PaymentList(payments=[PaymentRecordPublic.model_validate(x) for x in found])


@router.get(
    "/customers/{customer_id}/payments",
    response_model=PaymentList,
    operation_id="customer_payments",
    responses=error_responses(404, 422),
)
def customer_payments(customer_id: CustomerId, services: Services, _caller: CustomersReader) -> PaymentList:
    found = payments.customer_payments(services, customer_id)
    return PaymentList(payments=[PaymentRecordPublic.model_validate(x) for x in found])


@router.post(
    "/orders/{order_id}/payments/settle",
    response_model=SettlementPublic,
    operation_id="settle_invoice",
    responses=error_responses(404, 409, 413, 422, 503),
)
def settle(
    order_id: OrderId,
    body: SettleRequest,
    services: Services,
    caller: OrderManager,
    key: IdempotencyKey = None,
) -> JSONResponse:
    def call() -> dict[str, object]:
        done = payments.settle_invoice(
            services, order_id, amount=body.amount, reference=body.reference, caller=caller
        )
        return SettlementPublic.model_validate(done).model_dump(mode="json")

    return idempotent(
        services,
        caller=caller,
        scope=f"POST /api/v1/orders/{order_id}/payments/settle",
        key=key,
        payload=body,
        status=200,
        call=call,
    )


@router.post(
    "/orders/{order_id}/payments/capture",
    response_model=PaymentRecordPublic,
    operation_id="capture_payment",
    responses=error_responses(404, 409, 413, 422, 503),
)
def capture(
    order_id: OrderId,
    body: CaptureRequest,
    services: Services,
    caller: OrderManager,
    key: IdempotencyKey = None,
) -> JSONResponse:
    def call() -> dict[str, object]:
        done = payments.capture_payment(
            services, order_id, amount=body.amount, reference=body.reference, caller=caller
        )
        return PaymentRecordPublic.model_validate(done).model_dump(mode="json")

    return idempotent(
        services,
        caller=caller,
        scope=f"POST /api/v1/orders/{order_id}/payments/capture",
        key=key,
        payload=body,
        status=200,
        call=call,
    )
