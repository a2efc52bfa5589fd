"""What the domain needs to know about products, warehouses and shipping services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from perfectorder.domain.values import FulfilmentMode, Money


@dataclass(frozen=True, slots=True)
class Product:
    id: int
    sku: str
    name: str
    price: Money
    active: bool
    fulfilment: FulfilmentMode
    production_days: int
    lead_time_days: int


@dataclass(frozen=True, slots=True)
class Warehouse:
    id: int
    code: str
    timezone: str
    handling_days: int
    cutoff: time
    priority: int
    daily_capacity: int | None


@dataclass(frozen=True, slots=True)
class ShippingService:
    code: str
    carrier: str
    transit_days: int
