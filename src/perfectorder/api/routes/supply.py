"""The supply side over HTTP: demand lost to stock-outs, replenishment and stock ageing."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from perfectorder.api.deps import CatalogWriter, Reports, ReportsReader, Services, StockReader
from perfectorder.api.errors import error_responses
from perfectorder.api.schemas import Amount, In
from perfectorder.domain.replenishment import AGE_BUCKETS, Terms
from perfectorder.domain.supplier_scorecard import SupplierScores
from perfectorder.services import lost_demand, replenishment

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


def _days(start: date, end: date) -> tuple[datetime, datetime]:
    """The UTC days from `start` to `end` inclusive, as [start, end) instants."""
    # The day after the last; the last representable day has none, so it ends the period itself.
    after = end + timedelta(days=1) if end < date.max else end
    return datetime.combine(start, time(), UTC), datetime.combine(after, time(), UTC)


@router.get(
    "/metrics/lost-demand",
    response_model=LostDemandPublic,
    operation_id="lost_demand",
    responses=error_responses(403, 422),
)
def lost_demand_metrics(
    services: Reports,
    caller: ReportsReader,
    start: Annotated[date, Query(alias="from", description="First day refused (UTC)")],
    end: Annotated[date, Query(alias="to", description="Last day refused, inclusive (UTC)")],
) -> LostDemandPublic:
    """Order lines refused for lack of stock in the period (each refused order counted once however
    often it was retried, and not at all if it was placed later), per SKU and warehouse, with the
    stock-out rate: the share of every line asked for that was refused."""
    found = lost_demand.report(
        services,
        *_days(start, end),
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


class SuggestionPublic(BaseModel):
    sku: str
    warehouse: str
    supplier: str | None = Field(
        description="The cheapest listing's supplier; null: no supplier lists the SKU"
    )
    demand_per_day: float = Field(description="Units asked for a day over the window, lost demand included")
    demand_std: float
    lead_time_days: float
    lead_time_std: float
    lead_time_basis: str = Field(
        description="measured (the supplier's last 8 deliveries, once 3 are on record), quoted "
        "(the supplier's, in calendar days), overdue (an order out this long has not come), "
        "default (14 days)"
    )
    safety_stock: float
    reorder_point: float
    order_up_to: float
    position: int = Field(description="On hand - reserved + on order - backordered")
    quantity: int = Field(description="Suggested now, in whole packs and at least the minimum; 0: none")
    basis: str = Field(description="eoq or review: what set the order quantity")
    unit_cost: Amount
    currency: str
    value: Amount


ServiceLevel = Annotated[float, Query(ge=0.5, lt=1, description="Target cycle service level")]
WindowDays = Annotated[int, Query(ge=7, le=365, description="Days of demand to learn from")]


def _terms(service_level: float) -> Terms:
    return Terms(service_level=service_level)


@router.get(
    "/replenishment",
    response_model=list[SuggestionPublic],
    operation_id="replenishment",
    responses=error_responses(403, 422),
)
def replenishment_plan(
    services: Services,
    caller: StockReader,
    service_level: ServiceLevel = 0.95,
    window_days: WindowDays = 56,
    all_rows: Annotated[bool, Query(alias="all", description="Every SKU, not only those to order")] = False,
) -> list[SuggestionPublic]:
    """Per SKU and warehouse: demand and lead time with their spread, safety stock, reorder point
    and what to order now from the cheapest supplier listing (what is on order counts)."""
    rows = replenishment.plan(services, window_days=window_days, terms=_terms(service_level), caller=caller)
    return [
        SuggestionPublic(
            sku=r.sku,
            warehouse=r.warehouse,
            supplier=r.supplier,
            demand_per_day=round(r.demand.mean, 3),
            demand_std=round(r.demand.std, 3),
            lead_time_days=round(r.lead.mean_days, 2),
            lead_time_std=round(r.lead.std_days, 2),
            lead_time_basis=r.lead_basis,
            safety_stock=round(r.suggestion.safety_stock, 2),
            reorder_point=round(r.suggestion.reorder_point, 2),
            order_up_to=round(r.suggestion.order_up_to, 2),
            position=r.suggestion.position,
            quantity=r.suggestion.quantity,
            basis=r.suggestion.basis,
            unit_cost=r.unit_cost,
            currency=r.currency,
            value=r.value,
        )
        for r in rows
        if all_rows or r.suggestion.quantity > 0
    ]


class AcceptLine(In):
    sku: str = Field(max_length=64)
    warehouse: str = Field(max_length=32)


class AcceptRequest(In):
    lines: list[AcceptLine] = Field(min_length=1, max_length=500)
    service_level: float = Field(default=0.95, ge=0.5, lt=1)
    window_days: int = Field(default=56, ge=7, le=365)


class AcceptedPublic(BaseModel):
    purchase_orders: list[str] = Field(description="The draft purchase orders made, by number")


@router.post(
    "/replenishment/accept",
    response_model=AcceptedPublic,
    status_code=201,
    operation_id="accept_replenishment",
    responses=error_responses(403, 404, 409, 422),
)
def accept_replenishment(body: AcceptRequest, services: Services, caller: CatalogWriter) -> AcceptedPublic:
    """Draft purchase orders for the chosen suggestions (one per supplier and warehouse), at the
    quantities suggested now; send them with /purchase-orders/{id}/send."""
    made = replenishment.accept(
        services,
        [(x.sku, x.warehouse) for x in body.lines],
        window_days=body.window_days,
        terms=_terms(body.service_level),
        caller=caller,
    )
    return AcceptedPublic(purchase_orders=[po.summary.number for po in made])


class AgeingPublic(BaseModel):
    sku: str
    warehouse: str
    on_hand: int
    unit_cost: Amount
    currency: str
    last_sale: date | None
    days_since_sale: int | None
    slow: bool = Field(description="Stock on hand and no sale for 90 days or more (or ever)")
    units_by_age: dict[str, int] = Field(
        description="Days since received (first in, first out): 0-30, 31-90, ..."
    )
    value_by_age: dict[str, Amount]


@router.get(
    "/stock-ageing",
    response_model=list[AgeingPublic],
    operation_id="stock_ageing",
    responses=error_responses(403, 422),
)
def stock_ageing(
    services: Reports, caller: StockReader, slow_only: Annotated[bool, Query(alias="slow")] = False
) -> list[AgeingPublic]:
    """Stock on hand by how long ago it came, with the last sale; the oldest value first."""
    labels = _age_labels()
    return [
        AgeingPublic(
            sku=r.sku,
            warehouse=r.warehouse,
            on_hand=r.on_hand,
            unit_cost=r.unit_cost,
            currency=r.currency,
            last_sale=r.last_sale,
            days_since_sale=r.days_since_sale,
            slow=r.slow,
            units_by_age={labels[b]: n for b, n in r.by_age.items()},
            value_by_age={labels[b]: r.unit_cost * n for b, n in r.by_age.items()},
        )
        for r in replenishment.stock_ageing(services, caller=caller)
        if r.slow or not slow_only
    ]


def _age_labels() -> dict[int, str]:
    edges = list(AGE_BUCKETS)
    labels = {a: f"{a}-{b - 1}" for a, b in zip(edges, edges[1:], strict=False)}
    return labels | {edges[-1]: f"{edges[-1]}+"}


class SupplierScoresPublic(BaseModel):
    supplier: str
    lines: int = Field(description="Purchase order lines of orders created in the period")
    due: int = Field(description="Lines whose first promised day has ended, or complete, or closed")
    otif_rate: float | None = Field(
        description="Due lines whose units were all accepted by the first promised day"
    )
    on_time_rate: float | None = Field(description="Due lines whose first delivery came by that day")
    fill_rate: float | None = Field(description="Units accepted of units ordered, on due lines")
    rejection_rate: float | None = Field(description="Units rejected at receipt of units delivered")
    lead_time_p50: float | None = Field(description="Days from sending the order to a line's first delivery")
    lead_time_p90: float | None
    quoted_lead_time: int | None = Field(description="The supplier's own lead time, in its working days")
    defect_rate: float | None = Field(
        description="Units of its SKUs returned as defective on arrival, of those shipped in the period"
    )
    returned_defective: int
    shipped: int


class SupplierTrendPublic(BaseModel):
    period: date = Field(description="The first day of the week (Monday) or month")
    suppliers: list[SupplierScoresPublic]


class SupplierScorecardPublic(BaseModel):
    suppliers: list[SupplierScoresPublic]
    trend: list[SupplierTrendPublic] = Field(
        description="The same figures per week or month the orders were made"
    )


def _scores_public(s: SupplierScores) -> SupplierScoresPublic:
    return SupplierScoresPublic(
        supplier=s.supplier,
        lines=s.lines,
        due=s.due,
        otif_rate=s.otif_rate,
        on_time_rate=s.on_time_rate,
        fill_rate=s.fill_rate,
        rejection_rate=s.rejection_rate,
        lead_time_p50=s.lead_quantile(0.5),
        lead_time_p90=s.lead_quantile(0.9),
        quoted_lead_time=s.quoted_lead_days,
        defect_rate=s.defect_rate,
        returned_defective=s.returned_defective,
        shipped=s.shipped,
    )


@router.get(
    "/metrics/suppliers",
    response_model=SupplierScorecardPublic,
    operation_id="supplier_scorecard",
    responses=error_responses(403, 422),
)
def supplier_scorecard(
    services: Reports,
    caller: ReportsReader,
    start: Annotated[date, Query(alias="from", description="First day (UTC) purchase orders were created")],
    end: Annotated[date, Query(alias="to", description="Last day, inclusive (UTC)")],
    granularity: Annotated[Literal["week", "month"], Query()] = "month",
) -> SupplierScorecardPublic:
    """Per supplier: on time in full against the date first promised, on time, fill rate, rejection
    at receipt, lead time P50/P90 against the quoted one, and customers' defective returns of its
    SKUs; and the same per week or month."""
    found = replenishment.supplier_scorecard(
        services,
        *_days(start, end),
        granularity=granularity,
        caller=caller,
    )
    return SupplierScorecardPublic(
        suppliers=[_scores_public(s) for s in found.suppliers],
        trend=[
            SupplierTrendPublic(period=first, suppliers=[_scores_public(s) for s in scores])
            for first, scores in found.trend
        ],
    )
