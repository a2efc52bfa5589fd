"""Products, warehouses and shipping services."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from perfectorder.api.deps import MAX_ID, CatalogReader, CatalogWriter, IdempotencyKey, Services, idempotent
from perfectorder.api.errors import error_responses
from perfectorder.api.schemas import (
    ProductCreate,
    ProductPublic,
    ShippingServicePublic,
    WarehouseCreate,
    WarehousePublic,
)
from perfectorder.domain.access import Principal
from perfectorder.services import catalog
from perfectorder.services.ports import ProductSpec, WarehouseSpec
from perfectorder.services.views import ProductView, ShippingServiceView

router = APIRouter(prefix="/api/v1", tags=["catalog"])


@router.post(
    "/products",
    status_code=201,
    response_model=ProductPublic,
    operation_id="create_product",
    responses=error_responses(409, 413, 422, 503),
)
def create_product(
    body: ProductCreate, services: Services, caller: CatalogWriter, key: IdempotencyKey = None
) -> JSONResponse:
    spec = ProductSpec(**body.model_dump())
    return idempotent(
        services,
        caller=caller,
        scope="POST /api/v1/products",
        key=key,
        payload=body,
        status=201,
        call=lambda: ProductPublic.model_validate(catalog.create_product(services, spec)).model_dump(
            mode="json"
        ),
        location=lambda b: f"/api/v1/products/{b['sku']}",
    )


@router.get(
    "/products",
    response_model=list[ProductPublic],
    operation_id="list_products",
    responses=error_responses(422),
)
def list_products(
    services: Services,
    caller: CatalogReader,
    after_id: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[ProductPublic]:
    return [_shown(p, caller) for p in catalog.list_products(services, after_id=after_id, limit=limit)]


@router.get(
    "/products/{sku}",
    response_model=ProductPublic,
    operation_id="get_product",
    responses=error_responses(404, 422),
)
def get_product(
    sku: Annotated[str, Path(max_length=64)], services: Services, caller: CatalogReader
) -> ProductPublic:
    return _shown(catalog.get_product(services, sku), caller)


def _shown(product: ProductView, caller: Principal) -> ProductPublic:
    """What we pay for a product is ours: sales channels and customers see its price, not its cost."""
    public = ProductPublic.model_validate(product)
    if caller.is_tenant:
        return public.model_copy(update={"unit_cost": None})
    return public


@router.post(
    "/warehouses",
    status_code=201,
    response_model=WarehousePublic,
    operation_id="create_warehouse",
    responses=error_responses(409, 413, 422, 503),
)
def create_warehouse(
    body: WarehouseCreate, services: Services, caller: CatalogWriter, key: IdempotencyKey = None
) -> JSONResponse:
    spec = WarehouseSpec(**body.model_dump())
    return idempotent(
        services,
        caller=caller,
        scope="POST /api/v1/warehouses",
        key=key,
        payload=body,
        status=201,
        call=lambda: WarehousePublic.model_validate(catalog.create_warehouse(services, spec)).model_dump(
            mode="json"
        ),
    )


@router.get("/warehouses", response_model=list[WarehousePublic], operation_id="list_warehouses")
def list_warehouses(services: Services, _caller: CatalogReader) -> list[WarehousePublic]:
    return [WarehousePublic.model_validate(w) for w in catalog.list_warehouses(services)]


@router.post(
    "/shipping-services",
    status_code=201,
    response_model=ShippingServicePublic,
    operation_id="create_shipping_service",
    responses=error_responses(409, 413, 422, 503),
)
def create_shipping_service(
    body: ShippingServicePublic, services: Services, caller: CatalogWriter, key: IdempotencyKey = None
) -> JSONResponse:
    view = ShippingServiceView(**body.model_dump())
    return idempotent(
        services,
        caller=caller,
        scope="POST /api/v1/shipping-services",
        key=key,
        payload=body,
        status=201,
        call=lambda: ShippingServicePublic.model_validate(
            catalog.create_shipping_service(services, view)
        ).model_dump(mode="json"),
    )


@router.get(
    "/shipping-services", response_model=list[ShippingServicePublic], operation_id="list_shipping_services"
)
def list_shipping_services(services: Services, _caller: CatalogReader) -> list[ShippingServicePublic]:
    return [ShippingServicePublic.model_validate(s) for s in catalog.list_shipping_services(services)]
