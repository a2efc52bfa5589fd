"""Customers and their history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from perfectorder.api.deps import (
    MAX_ID,
    NO_NUL,
    CustomersReader,
    CustomersWriter,
    IdempotencyKey,
    Services,
    idempotent,
)
from perfectorder.api.errors import error_responses
from perfectorder.api.schemas import CustomerCreate, CustomerHistoryPublic, CustomerPublic
from perfectorder.domain.orders import AddressInput
from perfectorder.services import customers
from perfectorder.services.ports import CustomerSpec

router = APIRouter(prefix="/api/v1/customers", tags=["customers"])
CustomerId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.post(
    "",
    status_code=201,
    response_model=CustomerPublic,
    operation_id="create_customer",
    responses=error_responses(409, 413, 422, 503),
)
def create(
    body: CustomerCreate, services: Services, caller: CustomersWriter, key: IdempotencyKey = None
) -> JSONResponse:
    spec = CustomerSpec(**body.model_dump(exclude={"address"}))
    address = AddressInput(**body.address.model_dump()) if body.address else None
    return idempotent(
        services,
        caller=caller,
        scope="POST /api/v1/customers",
        key=key,
        payload=body,
        status=201,
        call=lambda: CustomerPublic.model_validate(
            customers.create_customer(services, spec, address=address)
        ).model_dump(mode="json"),
        location=lambda b: f"/api/v1/customers/{b['id']}",
    )


@router.get(
    "", response_model=list[CustomerPublic], operation_id="list_customers", responses=error_responses(422)
)
def list_customers(
    services: Services,
    _caller: CustomersReader,
    email: Annotated[str | None, Query(max_length=254, pattern=NO_NUL)] = None,
    after_id: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[CustomerPublic]:
    found = customers.list_customers(services, email=email, after_id=after_id, limit=limit)
    return [CustomerPublic.model_validate(c) for c in found]


@router.get(
    "/{customer_id}",
    response_model=CustomerHistoryPublic,
    operation_id="get_customer",
    responses=error_responses(404, 422),
)
def get_customer(
    customer_id: CustomerId, services: Services, _caller: CustomersReader
) -> CustomerHistoryPublic:
    """The customer with their history: orders, spend, open balance, purchase frequency."""
    return CustomerHistoryPublic.model_validate(customers.customer_history(services, customer_id))
