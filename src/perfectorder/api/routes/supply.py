"""The supply side over HTTP: demand lost to stock-outs."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from perfectorder.api.deps import ReportsReader, Services
from perfectorder.api.errors import error_responses
from perfectorder.api.schemas import Amount
from perfectorder.services import lost_demand

router = APIRouter(prefix="/api/v1", tags=["supply"])


class LostSkuPublic(BaseModel):
    sku: str
    warehouse: str = Field(description="The warehouse that would have shipped it first")
    currency: str
    lines: int = Field(description="Order lines refused for lack of stock")
    units: int = Field(description="Units those lines asked for")
    value: Amount = Field(description="Their value at the prices of the refused orders")


class MoneyPublic(BaseModel):
    currency: str
    amount: Amount


class LostDemandPublic(BaseModel):
    start: date
    end: date
    lines_ordered: int = Field(description="Lines of the orders placed in the period")
    lines_lost: int = Field(
        description="Lines refused for lack of stock whose order was never placed after all"
    )
    units_lost: int
    value_lost: list[MoneyPublic] = Field(description="By currency")
    stock_out_rate: float | None = Field(
        description="lines lost / (lines ordered + lines lost); null: none asked"
    )
    skus: list[LostSkuPublic] = Field(description="Per SKU, warehouse and currency, most units first")


@router.get(
    "/metrics/lost-demand",
    response_model=LostDemandPublic,
    operation_id="lost_demand",
    responses=error_responses(403, 422),
)
def lost_demand_metrics(
    services: Services,
    caller: ReportsReader,
    start: Annotated[date, Query(alias="from", description="First day refused (UTC)")],
    end: Annotated[date, Query(alias="to", description="Last day refused, inclusive (UTC)")],
) -> LostDemandPublic:
    """Order lines refused for lack of stock in the period (each refused order counted once however
    often it was retried, and not at all if it was placed later), per SKU and warehouse, with the
    stock-out rate: the share of every line asked for that was refused."""
    found = lost_demand.report(
        services,
        datetime.combine(start, time(), UTC),
        # The day after the last; the last representable day has none, so it ends the period itself.
        datetime.combine(end + timedelta(days=1) if end < date.max else end, time(), UTC),
        caller=caller,
    )
    return LostDemandPublic(
        start=start,
        end=end,
        lines_ordered=found.lines_ordered,
        lines_lost=found.lines_lost,
        units_lost=found.units_lost,
        value_lost=[MoneyPublic(currency=c, amount=v) for c, v in found.value_lost.items()],
        stock_out_rate=found.stock_out_rate,
        skus=[
            LostSkuPublic(
                sku=r.sku,
                warehouse=r.warehouse,
                currency=r.currency,
                lines=r.lines,
                units=r.units,
                value=r.value,
            )
            for r in found.by_sku
        ],
    )
