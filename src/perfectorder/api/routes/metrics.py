"""The Perfect Order: one order's verdict with its reasons, and rates over a period."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field, create_model

from perfectorder.api.deps import MAX_ID, NO_NUL, OrdersReader, Reports, ReportsReader, Services
from perfectorder.api.errors import error_responses
from perfectorder.api.schemas import Amount
from perfectorder.domain.promise import MAX_GRACE_MINUTES
from perfectorder.metrics.kpis import CustomerBehaviour, Kpis, Turnover
from perfectorder.metrics.measures import MEASURES, Kind, Measure
from perfectorder.metrics.perfect_order import OnTimeBasis, OnTimeReference, Settings
from perfectorder.metrics.rates import PerfectOrderRates
from perfectorder.services import carriers, loyalty, root_causes, transit, verdicts
from perfectorder.services.context import ServiceContext, reading
from perfectorder.services.root_causes import Rank

router = APIRouter(prefix="/api/v1", tags=["perfect order"])
Reference = Annotated[OnTimeReference, Query(alias="on_time_reference")]
Tolerance = Annotated[int, Query(alias="on_time_tolerance_days", ge=0, le=30)]
Basis = Annotated[
    OnTimeBasis | None,
    Query(
        alias="on_time_basis",
        description="date: by the promised day (destination's calendar); time: by the promised time (the "
        "end of the promised day when the promise has no time) plus grace. Default: each order's own terms.",
    ),
]
Grace = Annotated[
    int | None,
    Query(
        alias="grace_minutes",
        ge=0,
        le=MAX_GRACE_MINUTES,
        description="Minutes either side of the promise still on time at time basis; default: the order's",
    ),
]
GroupBy = Literal["channel", "warehouse", "carrier", "category", "tier"]
AS_OF_HEADER = "Figures-As-Of"
AS_OF = Field(
    description="When the stored verdicts and rollups these figures come from were last refreshed by "
    "the worker (null: never). Changes after it show after the next refresh."
)
# Reports answer from what the worker stored; the header dates list answers, which have no body field.
AS_OF_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "headers": {
            AS_OF_HEADER: {
                "description": "When the figures were last refreshed (ISO 8601, UTC); absent if never",
                "schema": {"type": "string", "format": "date-time"},
            }
        }
    }
}


def _dated(services: ServiceContext, response: Response) -> datetime | None:
    """The report's "as of", read in its transaction, also sent as a header."""
    at = verdicts.figures_as_of(services)
    if at is not None:
        response.headers[AS_OF_HEADER] = at.isoformat()
    return at


class FailurePublic(BaseModel):
    component: str
    reason: str
    stage: str
    code: str


class VerdictPublic(BaseModel):
    order_id: int
    state: str = Field(description="pending, provisional, final or cancelled")
    perfect: bool | None
    components: dict[str, bool | None]
    failures: list[FailurePublic]
    lines: list[str] = Field(
        description="Each order line's arrival against its own promise, in line order: on_time, late, "
        "early (before its delivery window), never (lost) or cancelled; empty when on time is not measured"
    )
    lines_evaluated: int
    lines_late: int = Field(description="Lines not on time: late, early or never arrived")


class ComponentPublic(BaseModel):
    rate: float | None
    evaluated: int
    failed: int


class RatesPublic(BaseModel):
    orders: int = Field(description="Final verdicts counted")
    perfect_order_rate: float | None
    perfect_order_index: float | None
    components: dict[str, ComponentPublic]
    pending: int
    provisional: int
    cancelled: int
    cancellation_rate: float | None
    lines_evaluated: int = Field(description="Lines of the final orders judged against their own promises")
    lines_late: int = Field(description="Of those, lines not on time (late, early for their window, lost)")
    line_on_time_rate: float | None


class PerfectOrderReport(BaseModel):
    period: dict[str, date]
    group_by: str | None
    groups: dict[str, RatesPublic]
    previous_period: dict[str, date] = Field(description="The period of the same length just before")
    previous: dict[str, RatesPublic] = Field(description="The same figures for the previous period")
    as_of: datetime | None = AS_OF


class TrendPointPublic(BaseModel):
    period: date = Field(description="First day of the day, ISO week (Monday) or month")
    key: str = Field(description="The slice, or empty for the whole store")
    rates: RatesPublic


class TrendReport(BaseModel):
    period: dict[str, date]
    granularity: str
    group_by: str | None
    points: list[TrendPointPublic]
    as_of: datetime | None = AS_OF


class ConcentrationPublic(BaseModel):
    dimension: str = Field(description="lane, carrier, warehouse, category, channel or tier")
    key: str = Field(description='The slice; a lane is "carrier service warehouse → country"')
    failed: int = Field(description="Orders with this failure in the slice")
    orders: int = Field(description="Final orders in the slice")
    share_of_failures: float
    share_of_orders: float
    lift: float | None = Field(description="Share of failures / share of orders")
    excess: float = Field(description="Failed orders beyond the slice's share: what ranks the slices")
    z: float | None = Field(description="Binomial z of the failed orders against the slice's share")
    significant: bool = Field(description="z of at least 1.96, with at least 5 failed orders in the slice")
    sentence: str = Field(description='"62% of it is GLS economy WH-1 → AT, which carries 9% of orders"')


class CostPublic(BaseModel):
    currency: str
    total: Amount = Field(description="handling + penalties + reshipments + refunds")
    handling: Amount = Field(description="Failed orders x handling")
    penalties: Amount = Field(description="Failed orders x the component's penalty")
    reshipments: Amount = Field(description="Reshipments and exchanges x reship")
    refunds: Amount = Field(description="Refunds recorded on the failure's orders, in this currency")
    unconverted_refunds: dict[str, Amount] = Field(
        description="Refunds recorded in other currencies: not converted, not in the total"
    )


class ImprovementPublic(BaseModel):
    component: str
    code: str
    stage: str
    orders: int = Field(description="Final orders this failure made imperfect")
    rate_without: float = Field(description="The perfect order rate without this failure")
    order_ids: list[int]
    reshipped: int = Field(description="Reshipments and exchanges of the failure's orders")
    cost: CostPublic
    concentrations: list[ConcentrationPublic] = Field(
        description="Where the failure concentrates: up to 5 slices with more of it than their share "
        "of orders, the most excess first"
    )


def rates_public(r: PerfectOrderRates) -> RatesPublic:
    return RatesPublic(
        orders=r.orders,
        perfect_order_rate=r.perfect_order_rate,
        perfect_order_index=r.perfect_order_index,
        components={
            k: ComponentPublic(rate=c.rate, evaluated=c.evaluated, failed=c.failed)
            for k, c in r.components.items()
        },
        pending=r.pending,
        provisional=r.provisional,
        cancelled=r.cancelled,
        cancellation_rate=r.cancellation_rate,
        lines_evaluated=r.lines_evaluated,
        lines_late=r.lines_late,
        line_on_time_rate=r.line_on_time_rate,
    )


def _period(start: date, end: date) -> tuple[datetime, datetime]:
    return verdicts.report_period(start, end)


@router.get(
    "/orders/{order_id}/verdict",
    response_model=VerdictPublic,
    operation_id="order_verdict",
    responses=error_responses(404, 422),
)
def verdict(
    order_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    # One order, maybe just placed: read on the primary, not a replica that may not have it yet.
    services: Services,
    caller: OrdersReader,
    reference: Reference = OnTimeReference.ORIGINAL,
    tolerance: Tolerance = 0,
    basis: Basis = None,
    grace: Grace = None,
) -> VerdictPublic:
    """Perfect or not, and for every failed component the reason and the stage that failed; each
    line's arrival against its own promise."""
    settings = Settings(reference, tolerance, basis=basis, grace_minutes=grace)
    v = verdicts.order_verdict(services, order_id, settings=settings, caller=caller)
    return VerdictPublic(
        order_id=v.order_id,
        state=v.state.value,
        perfect=v.perfect,
        components=v.components,
        failures=[
            FailurePublic(component=f.component, reason=f.reason, stage=f.stage, code=f.code)
            for f in v.failures
        ],
        lines=[t.value for t in v.lines],
        lines_evaluated=v.lines_evaluated,
        lines_late=v.lines_late,
    )


@router.get(
    "/metrics/perfect-order",
    response_model=PerfectOrderReport,
    operation_id="perfect_order_rates",
    responses={**error_responses(422), **AS_OF_RESPONSE},
)
def perfect_order(
    services: Reports,
    _caller: ReportsReader,
    response: Response,
    start: Annotated[date, Query(alias="from", description="First day placed (UTC)")],
    end: Annotated[date, Query(alias="to", description="Last day placed, inclusive (UTC)")],
    group_by: GroupBy | None = None,
    reference: Reference = OnTimeReference.ORIGINAL,
    tolerance: Tolerance = 0,
    basis: Basis = None,
    grace: Grace = None,
) -> PerfectOrderReport:
    """Perfect order rate, component rates and index for orders placed in the period, beside the
    same figures for the period of the same length just before it."""
    placed_from, placed_to = _period(start, end)
    settings = Settings(reference, tolerance, basis=basis, grace_minutes=grace)
    before_from, before_to = verdicts.previous_period(placed_from, placed_to)
    with reading(services):
        report = verdicts.perfect_order_report(
            services, placed_from, placed_to, group_by=group_by, settings=settings
        )
        before = verdicts.perfect_order_report(
            services, before_from, before_to, group_by=group_by, settings=settings
        )
        as_of = _dated(services, response)
    return PerfectOrderReport(
        period={"from": start, "to": end},
        group_by=group_by,
        groups={k: rates_public(r) for k, r in report.items()},
        previous_period={
            "from": before_from.date(),
            "to": max(before_to.date(), date.min + timedelta(days=1)) - timedelta(days=1),
        },
        previous={k: rates_public(r) for k, r in before.items()},
        as_of=as_of,
    )


@router.get(
    "/metrics/perfect-order/trend",
    response_model=TrendReport,
    operation_id="perfect_order_trend",
    responses={**error_responses(422), **AS_OF_RESPONSE},
)
def perfect_order_trend(
    services: Reports,
    _caller: ReportsReader,
    response: Response,
    start: Annotated[date, Query(alias="from", description="First day placed (UTC)")],
    end: Annotated[date, Query(alias="to", description="Last day placed, inclusive (UTC)")],
    granularity: Literal["day", "week", "month"] = "day",
    group_by: GroupBy | None = None,
) -> TrendReport:
    """The perfect order rate, index and component rates per day, week or month."""
    placed_from, placed_to = _period(start, end)
    with reading(services):
        points = verdicts.perfect_order_trend(
            services, placed_from, placed_to, granularity=granularity, group_by=group_by
        )
        as_of = _dated(services, response)
    return TrendReport(
        period={"from": start, "to": end},
        granularity=granularity,
        group_by=group_by,
        points=[TrendPointPublic(period=p.period, key=p.key, rates=rates_public(p.rates)) for p in points],
        as_of=as_of,
    )


@router.get(
    "/metrics/failures/orders",
    response_model=list[int],
    operation_id="orders_with_failure",
    responses={**error_responses(422), **AS_OF_RESPONSE},
)
def orders_with_failure(
    services: Reports,
    _caller: ReportsReader,
    response: Response,
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
    component: Annotated[str, Query(min_length=1, max_length=20, pattern=NO_NUL)],
    code: Annotated[str, Query(min_length=1, max_length=50, pattern=NO_NUL)],
    stage: Annotated[str, Query(min_length=1, max_length=20, pattern=NO_NUL)],
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[int]:
    """Ids of the final orders of the period that failed this way: the orders behind an improvement."""
    placed_from, placed_to = _period(start, end)
    with reading(services):
        _dated(services, response)
        return verdicts.orders_with_failure(
            services, placed_from, placed_to, (component, code, stage), limit=limit
        )


@router.get(
    "/metrics/improvements",
    response_model=list[ImprovementPublic],
    operation_id="improvements",
    responses={**error_responses(422), **AS_OF_RESPONSE},
)
def improvements(
    services: Reports,
    _caller: ReportsReader,
    response: Response,
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    basis: Basis = None,
    grace: Grace = None,
    rank: Annotated[
        Rank, Query(description="orders: by the final orders each made imperfect; cost: by its cost")
    ] = "orders",
) -> list[ImprovementPublic]:
    """Fix this first: failures ranked by how many perfect orders they cost, or by money; each
    with where it concentrates (lift per lane, carrier, warehouse, category, channel and tier)
    and its cost (PERFECTORDER_FAILURE_COSTS with the refunds recorded)."""
    placed_from, placed_to = _period(start, end)
    settings = Settings(basis=basis, grace_minutes=grace)
    with reading(services):
        ranked = root_causes.ranked_failures(
            services, placed_from, placed_to, limit=limit, rank=rank, settings=settings
        )
        _dated(services, response)
    return [_improvement_public(r) for r in ranked]


def _improvement_public(r: root_causes.RankedFailure) -> ImprovementPublic:
    i, cost = r.improvement, r.causes.cost
    return ImprovementPublic(
        component=i.component,
        code=i.code,
        stage=i.stage,
        orders=i.orders,
        rate_without=i.rate_without,
        order_ids=list(i.order_ids[:100]),
        reshipped=r.causes.reshipped,
        cost=CostPublic(
            currency=cost.currency,
            total=cost.total,
            handling=cost.handling,
            penalties=cost.penalties,
            reshipments=cost.reshipments,
            refunds=cost.refunds,
            unconverted_refunds=dict(cost.unconverted_refunds),
        ),
        concentrations=[
            ConcentrationPublic(
                dimension=c.dimension,
                key=c.key,
                failed=c.failed,
                orders=c.orders,
                share_of_failures=c.share_of_failures,
                share_of_orders=c.share_of_orders,
                lift=c.lift,
                excess=c.excess,
                z=c.z,
                significant=c.significant,
                sentence=c.sentence,
            )
            for c in r.causes.concentrations
        ],
    )


class DistributionPublic(BaseModel):
    count: int
    median: float | None
    p90: float | None


def _kpi_field(m: Measure) -> tuple[Any, Any]:
    described = Field(description=f"{m.title}: {m.definition}")
    if m.kind is Kind.DISTRIBUTION:
        return DistributionPublic, described
    if m.kind is Kind.RATE_BY_KEY:
        return dict[str, float], described
    if m.name == "customers":
        return int, described
    return float | None, described


def _kpi_document() -> type[BaseModel]:
    """The KPI document, one field per measure of metrics.measures (a distribution in a group, such as
    the time in each stage, is one entry of the group's field)."""
    fields: dict[str, Any] = {"period": (dict[str, date], ...), "orders": (int, ...)}
    for m in MEASURES:
        if m.kind in (Kind.COMPONENT, Kind.PERFECT):
            continue  # the perfect order report's, per slice
        if m.group is not None:
            fields[m.group[0]] = (
                dict[str, DistributionPublic],
                Field(description="Time from the previous stage to this one, hours (first time reached)"),
            )
        else:
            fields[m.name] = _kpi_field(m)
    fields["as_of"] = (datetime | None, AS_OF)
    return create_model("KpisPublic", **fields)


KpisPublic = _kpi_document()


def _kpi_values(k: Kpis, c: CustomerBehaviour, stock: Turnover) -> dict[str, Any]:
    out: dict[str, Any] = {"orders": k.orders}
    for m in MEASURES:
        if m.kind is Kind.DISTRIBUTION:
            d = k.distributions[m.name]
            entry = {"count": d.count, "median": d.median, "p90": d.p90}
            if m.group is not None:
                out.setdefault(m.group[0], {})[m.group[1]] = entry
            else:
                out[m.name] = entry
        elif m.kind is Kind.RATE_BY_KEY:
            out[m.name] = k.by_key[m.name]
        elif m.kind in (Kind.RATE, Kind.MEAN):
            out[m.name] = k.rates[m.name]
        elif m.kind is Kind.CUSTOMER:
            out[m.name] = getattr(c, m.name)
        elif m.kind is Kind.STOCK:
            out[m.name] = getattr(stock, m.name)
    return out


@router.get(
    "/metrics/kpis",
    response_model=KpisPublic,
    operation_id="kpis",
    responses={**error_responses(422), **AS_OF_RESPONSE},
)
def kpis(
    services: Reports,
    _caller: ReportsReader,
    response: Response,
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
) -> BaseModel:
    """Every KPI of the measures' table (docs/metrics.md) over the orders placed in the period: cycle
    and stage times, on-time, OTIF, fill, backorder, accuracy, return and cancellation rates, customer
    behaviour and inventory turnover."""
    placed_from, placed_to = _period(start, end)
    with reading(services):
        k, c = verdicts.kpi_report(services, placed_from, placed_to)
        stock = verdicts.inventory_turnover(services, placed_from, placed_to)
        as_of = _dated(services, response)
    return KpisPublic(period={"from": start, "to": end}, **_kpi_values(k, c, stock), as_of=as_of)


class ProportionPublic(BaseModel):
    repeated: int = Field(description="Orders followed by another purchase within the window")
    orders: int
    rate: float | None
    low: float | None = Field(description="95% interval (Wilson)")
    high: float | None


class LoyaltyGroupPublic(BaseModel):
    name: str = Field(description="perfect, imperfect, or a failure as component:code")
    repeat: ProportionPublic
    median_days_to_next: float | None


class RatioPublic(BaseModel):
    value: float | None = Field(description="Imperfect repeat rate / perfect repeat rate")
    low: float | None = Field(description="95% interval (Katz, log scale)")
    high: float | None


class LapsedPublic(BaseModel):
    customer_id: int
    last_order_on: date
    usual_interval_days: float
    days_since: int
    last_imperfect_order_id: int | None
    last_imperfect_reasons: list[str]


class LoyaltyPublic(BaseModel):
    window_days: int
    k: float
    perfect: LoyaltyGroupPublic
    imperfect: LoyaltyGroupPublic
    ratio: RatioPublic
    by_reason: list[LoyaltyGroupPublic]
    lapsed_customers: int
    lapsed: list[LapsedPublic] = Field(description="The most lapsed customers first (at most 100)")


def _group_public(g: Any) -> LoyaltyGroupPublic:
    r = g.repeat
    return LoyaltyGroupPublic(
        name=g.name,
        repeat=ProportionPublic(repeated=r.hits, orders=r.n, rate=r.rate, low=r.low, high=r.high),
        median_days_to_next=g.median_days_to_next,
    )


@router.get(
    "/metrics/loyalty",
    response_model=LoyaltyPublic,
    operation_id="loyalty",
    responses=error_responses(422),
)
def loyalty_metrics(
    services: Reports,
    _caller: ReportsReader,
    start: Annotated[date, Query(alias="from", description="First day placed (UTC)")],
    end: Annotated[date, Query(alias="to", description="Last day placed, inclusive (UTC)")],
    window_days: Annotated[int, Query(ge=1, le=730, description="Days to count a next order in")] = 90,
    k: Annotated[float, Query(ge=1, le=100, description="Lapsed: silent for k x the usual interval")] = 3.0,
) -> LoyaltyPublic:
    """Repeat-purchase rate and days to the next order after a perfect versus an imperfect order
    and per failure, with 95% intervals; customers who lapsed, with their last imperfect order.
    Orders count once their window has passed; exchanges and replacements are not purchases."""
    _period(start, end)  # the same period rules as every report
    report = loyalty.loyalty_report(services, start, end, window_days=window_days, k=k)
    return LoyaltyPublic(
        window_days=report.window_days,
        k=report.k,
        perfect=_group_public(report.perfect),
        imperfect=_group_public(report.imperfect),
        ratio=RatioPublic(value=report.ratio.value, low=report.ratio.low, high=report.ratio.high),
        by_reason=[_group_public(g) for g in report.by_reason],
        lapsed_customers=report.lapsed_customers,
        lapsed=[
            LapsedPublic(
                customer_id=x.customer_id,
                last_order_on=x.last_order_on,
                usual_interval_days=x.usual_interval_days,
                days_since=x.days_since,
                last_imperfect_order_id=x.last_imperfect_order_id,
                last_imperfect_reasons=list(x.last_imperfect_reasons),
            )
            for x in report.lapsed
        ],
    )


class LearnedTransitPublic(BaseModel):
    parcels: int = Field(description="Delivered parcels in the learning window")
    p50: int
    p90: int
    p95: int


class LaneAccuracyPublic(BaseModel):
    service: str
    carrier: str
    warehouse_id: int
    region: str = Field(description="Destination: country and postal-code prefix")
    parcels: int
    on_time: int = Field(description="Parcels delivered on or before the order's original promise")
    on_time_rate: float
    offsets: dict[str, int] = Field(
        description="Working days from the promise to the delivery (negative early, 0 on the day) -> parcels"
    )
    transit: dict[str, int] = Field(description="Working days from shipping to delivery -> parcels")
    bases: dict[str, int] = Field(description="What promises counted on (configured, p90, ...) -> parcels")
    configured_days: int | None
    learned: LearnedTransitPublic | None = Field(description="The lane's transit times as learned now")


class PromiseAccuracyPublic(BaseModel):
    learned_at: datetime | None = Field(description="When transit times were last learned")
    promise_quantile: str
    lanes: list[LaneAccuracyPublic]


@router.get(
    "/metrics/promise-accuracy",
    response_model=PromiseAccuracyPublic,
    operation_id="promise_accuracy",
    responses=error_responses(422),
)
def promise_accuracy_metrics(
    services: Reports,
    _caller: ReportsReader,
    start: Annotated[date, Query(alias="from", description="First day delivered (UTC)")],
    end: Annotated[date, Query(alias="to", description="Last day delivered, inclusive (UTC)")],
) -> PromiseAccuracyPublic:
    """Per lane (service, warehouse, destination region), the parcels delivered in the period:
    promised against actual in working days, the transit they took, what their promises counted
    on, and the lane's configured and learned transit."""
    found = transit.promise_accuracy(services, start, end)
    return PromiseAccuracyPublic(
        learned_at=transit.learned_at(services),
        promise_quantile=services.transit.quantile,
        lanes=[
            LaneAccuracyPublic(
                service=x.lane.service,
                carrier=x.carrier,
                warehouse_id=x.lane.warehouse_id,
                region=x.lane.region,
                parcels=x.parcels,
                on_time=x.on_time,
                on_time_rate=x.on_time_rate,
                offsets={str(k): n for k, n in x.offsets.items()},
                transit={str(k): n for k, n in x.transit.items()},
                bases=x.bases,
                configured_days=x.configured_days,
                learned=LearnedTransitPublic(
                    parcels=x.learned.parcels, p50=x.learned.p50, p90=x.learned.p90, p95=x.learned.p95
                )
                if x.learned
                else None,
            )
            for x in found
        ],
    )


class CarrierScoresPublic(BaseModel):
    parcels: int = Field(description="Parcels handed to the carrier in the period")
    delivered: int
    on_time: int = Field(description="Delivered within the transit the promise counted (working days)")
    on_time_measured: int = Field(description="Delivered parcels whose promised transit is known")
    on_time_rate: float | None
    damaged: int
    damage_rate: float | None
    lost: int
    loss_rate: float | None
    claims: int
    scan_compliance: float | None = Field(description="Share first scanned within 24 hours of handover")
    transit_p50: int | None = Field(description="Working days, delivered parcels")
    transit_p90: int | None


class CarrierRowPublic(BaseModel):
    carrier: str
    service: str | None
    warehouse_id: int | None
    region: str | None
    scores: CarrierScoresPublic


class CarrierTrendPublic(BaseModel):
    period: date = Field(description="First day of the week or month of shipping")
    carrier: str
    scores: CarrierScoresPublic


class CarrierScorecardPublic(BaseModel):
    carriers: list[CarrierRowPublic]
    services: list[CarrierRowPublic]
    lanes: list[CarrierRowPublic]
    trend: list[CarrierTrendPublic]


def _scores_public(s: Any) -> CarrierScoresPublic:
    return CarrierScoresPublic(
        parcels=s.parcels,
        delivered=s.delivered,
        on_time=s.on_time,
        on_time_measured=s.on_time_measured,
        on_time_rate=s.on_time_rate,
        damaged=s.damaged,
        damage_rate=s.damage_rate,
        lost=s.lost,
        loss_rate=s.loss_rate,
        claims=s.claims,
        scan_compliance=s.scan_compliance,
        transit_p50=s.transit_p50,
        transit_p90=s.transit_p90,
    )


def _row_public(r: Any) -> CarrierRowPublic:
    return CarrierRowPublic(
        carrier=r.carrier,
        service=r.service,
        warehouse_id=r.warehouse_id,
        region=r.region,
        scores=_scores_public(r.scores),
    )


@router.get(
    "/metrics/carriers",
    response_model=CarrierScorecardPublic,
    operation_id="carrier_scorecard",
    responses=error_responses(422),
)
def carrier_scorecard(
    services: Reports,
    _caller: ReportsReader,
    start: Annotated[date, Query(alias="from", description="First day shipped (UTC)")],
    end: Annotated[date, Query(alias="to", description="Last day shipped, inclusive (UTC)")],
    granularity: Annotated[Literal["week", "month"], Query(description="Trend periods")] = "week",
) -> CarrierScorecardPublic:
    """Per carrier, service and lane, the parcels shipped in the period: on time (within the
    transit the promise counted), damage, losses, claims, transit P50/P90 and scan compliance, and
    each carrier's figures per week or month."""
    card = carriers.carrier_scorecard(services, start, end, granularity=granularity)
    return CarrierScorecardPublic(
        carriers=[_row_public(r) for r in card.carriers],
        services=[_row_public(r) for r in card.services],
        lanes=[_row_public(r) for r in card.lanes],
        trend=[
            CarrierTrendPublic(period=p.period, carrier=p.carrier, scores=_scores_public(p.scores))
            for p in card.trend
        ],
    )
