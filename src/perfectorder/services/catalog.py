"""Products, warehouses, shipping services and the working calendar."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from perfectorder.domain.errors import Conflict, InvalidInput, NotFound
from perfectorder.domain.values import FulfilmentMode, has_valid_scale, is_known_currency
from perfectorder.services.context import ServiceContext, read, run_transaction
from perfectorder.services.ports import ProductSpec, UnitOfWork, WarehouseSpec
from perfectorder.services.views import ProductView, ShippingServiceView, WarehouseView


def create_product(ctx: ServiceContext, spec: ProductSpec) -> ProductView:
    _check_product(spec)

    def work(uow: UnitOfWork) -> ProductView:
        created = uow.products.add(spec, ctx.clock.now())
        if created is None:
            raise Conflict("duplicate_sku", f"a product with SKU {spec.sku} exists already", field="sku")
        return created

    return run_transaction(ctx, work)


def _check_product(spec: ProductSpec) -> None:
    if not spec.sku.strip():
        raise InvalidInput("sku_required", "give the product a SKU", field="sku")
    if not is_known_currency(spec.currency):
        raise InvalidInput(
            "unknown_currency", f"'{spec.currency}' is not a supported currency", field="currency"
        )
    if spec.price < 0 or not has_valid_scale(spec.price, spec.currency):
        raise InvalidInput(
            "invalid_price", f"{spec.price} is not a valid {spec.currency} price", field="price"
        )
    if spec.weight_kg < 0:
        raise InvalidInput("invalid_weight", "weight cannot be negative", field="weight_kg")
    if spec.fulfilment not in {m.value for m in FulfilmentMode}:
        raise InvalidInput("invalid_fulfilment", "use made_to_stock or made_to_order", field="fulfilment")
    if spec.production_days < 0 or spec.lead_time_days < 0:
        raise InvalidInput("invalid_days", "day counts cannot be negative", field="production_days")
    if spec.unit_cost is not None and spec.unit_cost < Decimal(0):
        raise InvalidInput("invalid_cost", "unit cost cannot be negative", field="unit_cost")


def get_product(ctx: ServiceContext, sku: str) -> ProductView:
    found = read(ctx, lambda uow: uow.products.get(sku))
    if found is None:
        raise NotFound("product_not_found", f"no product has SKU '{sku}'", field="sku")
    return found


def list_products(ctx: ServiceContext, *, after_id: int | None, limit: int) -> list[ProductView]:
    return read(ctx, lambda uow: uow.products.page(after_id=after_id, limit=limit))


def create_warehouse(ctx: ServiceContext, spec: WarehouseSpec) -> WarehouseView:
    _check_warehouse(spec)

    def work(uow: UnitOfWork) -> WarehouseView:
        created = uow.warehouses.add(spec)
        if created is None:
            raise Conflict("duplicate_warehouse", f"warehouse {spec.code} exists already", field="code")
        return created

    return run_transaction(ctx, work)


def _check_warehouse(spec: WarehouseSpec) -> None:
    if not spec.code.strip():
        raise InvalidInput("code_required", "give the warehouse a code", field="code")
    try:
        ZoneInfo(spec.timezone)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise InvalidInput(
            "invalid_timezone", f"'{spec.timezone}' is not an IANA time zone", field="timezone"
        ) from e
    try:
        time.fromisoformat(spec.cutoff)
    except ValueError as e:
        raise InvalidInput("invalid_cutoff", "cut-off is a local time like 14:00", field="cutoff") from e
    if spec.handling_days < 0:
        raise InvalidInput("invalid_days", "handling days cannot be negative", field="handling_days")
    if spec.daily_capacity is not None and spec.daily_capacity <= 0:
        raise InvalidInput(
            "invalid_capacity", "daily capacity must be positive or absent", field="daily_capacity"
        )


def list_warehouses(ctx: ServiceContext) -> list[WarehouseView]:
    return read(ctx, lambda uow: uow.warehouses.all())


def create_shipping_service(ctx: ServiceContext, service: ShippingServiceView) -> ShippingServiceView:
    if service.transit_days < 0:
        raise InvalidInput("invalid_days", "transit days cannot be negative", field="transit_days")

    def work(uow: UnitOfWork) -> ShippingServiceView:
        if not uow.warehouses.add_shipping_service(service):
            raise Conflict(
                "duplicate_service", f"shipping service {service.code} exists already", field="code"
            )
        return service

    return run_transaction(ctx, work)


def list_shipping_services(ctx: ServiceContext) -> list[ShippingServiceView]:
    return read(ctx, lambda uow: uow.warehouses.shipping_services())


def add_holiday(ctx: ServiceContext, day: date, name: str) -> None:
    run_transaction(ctx, lambda uow: uow.warehouses.add_holiday(day, name))
