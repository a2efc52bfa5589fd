"""Root causes by hand: lift, excess and z of worked tables; what one order adds to the failure
rollups; what a failure costs, and the cost settings refused with the entry at fault."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from perfectorder.config import DEFAULT_COST_CURRENCY as CONFIG_CURRENCY
from perfectorder.config import DEFAULT_FAILURE_COSTS as CONFIG_COSTS
from perfectorder.config import Settings as ConfigSettings
from perfectorder.metrics.failure_cost import (
    DEFAULT_COST_CURRENCY,
    DEFAULT_FAILURE_COSTS,
    FailureCosts,
    failure_cost,
    parse_failure_costs,
    to_minor,
)
from perfectorder.metrics.kpis import OrderKpiFacts
from perfectorder.metrics.perfect_order import Failure
from perfectorder.metrics.rollup import NEVER, VerdictRow
from perfectorder.metrics.root_causes import (
    ALL,
    concentration,
    failure_contributions,
    lane_label,
    percent,
    ranked_concentrations,
    root_causes,
    summed,
    without_slices,
)

LATE = ("on_time", "late_delivery", "shipping")
DAMAGED = ("undamaged", "damaged_in_transit", "shipping")
GLS_AT = lane_label("GLS", "economy", "WH-1", "AT")
DHL_DE = lane_label("DHL", "standard", "WH-1", "DE")


def test_a_lane_reads_as_people_say_it():
    assert GLS_AT == "GLS economy WH-1 → AT"


def test_the_lift_of_a_slice_worked_by_hand():
    # 50 of 1,000 orders were late; 31 of them went GLS economy to Austria, which carried 90 orders.
    c = concentration("lane", GLS_AT, 31, 90, 50, 1000)
    assert c.share_of_failures == pytest.approx(0.62)
    assert c.share_of_orders == pytest.approx(0.09)
    assert c.lift == pytest.approx(0.62 / 0.09)
    assert c.excess == pytest.approx(31 - 50 * 0.09)  # 26.5 late orders beyond its share
    assert c.z == pytest.approx(26.5 / math.sqrt(50 * 0.09 * 0.91))
    assert c.significant
    assert c.sentence == "62% of it is GLS economy WH-1 → AT, which carries 9% of orders"


def test_a_slice_with_every_order_has_no_spread_and_no_excess():
    c = concentration("warehouse", "WH-1", 50, 1000, 50, 1000)
    assert c.lift == pytest.approx(1.0) and c.excess == pytest.approx(0) and c.z is None


def test_a_big_concentrated_slice_ranks_before_a_tiny_one_with_a_single_failure():
    failed_in = {("lane", GLS_AT): 31, ("category", "garden"): 1, ("carrier", "GLS"): 33}
    orders_in = {("lane", GLS_AT): 90, ("category", "garden"): 1, ("carrier", "GLS"): 300}
    ranked = ranked_concentrations(failed_in, orders_in, 50, 1000)
    # The tiny slice has the highest lift (20) but one failure; the carrier holds the lane and
    # more orders that were on time, so its excess is smaller than the lane's.
    assert [c.key for c in ranked] == [GLS_AT, "GLS", "garden"]
    assert ranked[2].lift == pytest.approx(20.0) and not ranked[2].significant


def test_slices_with_no_more_than_their_share_are_left_out():
    ranked = ranked_concentrations(
        {("channel", "web"): 30, ("channel", "phone"): 20},
        {
            ("channel", "web"): 600,
            ("channel", "phone"): 400,
        },
        50,
        1000,
    )
    assert ranked == []


def test_shares_read_in_whole_percent_and_never_as_zero():
    assert percent(0.623) == "62%" and percent(0.004) == "under 1%" and percent(0.0) == "0%"


def order(order_id, failures=(), *, state="delivered", lanes=(GLS_AT,), refunded="0", reshipped=0, **more):
    placed = date(2026, 3, 2)
    return VerdictRow(
        order_id=order_id,
        placed_on=placed,
        channel=more.get("channel", "web"),
        customer_id=order_id,
        tier="standard",
        warehouses=("WH-1",),
        carriers=tuple(sorted({x.split()[0] for x in lanes})),
        categories=more.get("categories", ("garden",)),
        state=state,
        final_from=date(2026, 4, 10) if state == "delivered" else NEVER,
        components={},
        failures=tuple(Failure(*f[:1], "why", f[2], f[1]) for f in failures),
        kpi=OrderKpiFacts(
            order_id=order_id,
            customer_id=order_id,
            placed_at=datetime(2026, 3, 2, 9, tzinfo=UTC),
            cancelled=False,
            promised_ship_date=placed,
            promised_date=placed,
        ),
        lanes=lanes,
        currency=more.get("currency", "EUR"),
        refunded=Decimal(refunded),
        reshipped=reshipped,
        suppliers=more.get("suppliers", ()),
    )


def test_a_delivered_order_counts_once_per_slice_for_every_order_and_for_each_failure():
    row = order(
        7,
        [LATE, LATE, DAMAGED],
        lanes=(GLS_AT, DHL_DE),
        refunded="12.50",
        reshipped=1,
        suppliers=("ACME", "KESTREL"),  # its products listed by two
    )
    added = failure_contributions(row)
    slices = {(d, k) for (_, _, _, _, _, d, k) in added}
    assert slices == {
        ("channel", "web"),
        ("tier", "standard"),
        ("warehouse", "WH-1"),
        ("carrier", "DHL"),
        ("carrier", "GLS"),
        ("category", "garden"),
        ("supplier", "ACME"),
        ("supplier", "KESTREL"),
        ("lane", GLS_AT),
        ("lane", DHL_DE),
        ("currency", "EUR"),
    }
    failures = {(c, code, stage) for (_, _, c, code, stage, _, _) in added}
    assert failures == {ALL, LATE, DAMAGED}  # the late delivery twice counts once
    assert len(added) == 3 * 11
    # Products no supplier lists: the order counts under supplier "none", as categories do.
    assert (row.placed_on, row.final_from, *ALL, "supplier", "none") in failure_contributions(order(8))
    day, final = row.placed_on, row.final_from
    assert added[(day, final, *LATE, "currency", "EUR")] == (1, 1250, 1)
    assert added[(day, final, *LATE, "lane", GLS_AT)] == (1, 0, 1)  # refunds on currency rows only


def test_orders_not_delivered_add_nothing():
    assert failure_contributions(order(1, [LATE], state="pending")) == {}
    assert failure_contributions(order(2, state="cancelled")) == {}


def test_root_causes_of_a_small_store_by_hand():
    # Ten orders: four late, three of them GLS to Austria (which carries four orders).
    rows = [order(n, [LATE], refunded="10.00" if n == 1 else "0", reshipped=int(n == 2)) for n in (1, 2, 3)]
    rows += [order(4, [LATE], lanes=(DHL_DE,), currency="USD", refunded="5.00")]
    rows += [order(5, lanes=(GLS_AT,))]
    rows += [order(n, lanes=(DHL_DE,)) for n in range(6, 11)]
    found = root_causes(summed(rows), FailureCosts())
    late = found[LATE]
    assert (late.failed, late.orders, late.reshipped) == (4, 10, 1)
    top = late.concentrations[0]
    assert (top.dimension, top.key, top.failed, top.orders) == ("lane", GLS_AT, 3, 4)
    assert top.excess == pytest.approx(3 - 4 * 4 / 10)
    assert top.sentence == "75% of it is GLS economy WH-1 → AT, which carries 40% of orders"
    # 4 x (4.00 handling + 3.00 late penalty) + 1 x 12.00 reship + 10.00 refunded in EUR.
    assert late.cost.total == Decimal("50.00")
    assert (late.cost.handling, late.cost.penalties, late.cost.reshipments, late.cost.refunds) == (
        Decimal("16.00"),
        Decimal("12.00"),
        Decimal("12.00"),
        Decimal("10.00"),
    )
    assert late.cost.unconverted_refunds == {"USD": Decimal("5.00")}


@given(
    st.lists(
        st.tuples(st.sampled_from([GLS_AT, DHL_DE]), st.booleans(), st.sampled_from(["web", "phone"])),
        min_size=1,
        max_size=40,
    )
)
def test_shares_stay_in_bounds_and_the_order_of_orders_does_not_matter(orders):
    rows = [
        order(n, [LATE] if late else [], lanes=(lane,), channel=channel)
        for n, (lane, late, channel) in enumerate(orders)
    ]
    found = root_causes(summed(rows), FailureCosts())
    assert found == root_causes(summed(reversed(rows)), FailureCosts())
    for causes in found.values():
        assert causes.failed <= causes.orders == len(rows)
        for c in causes.concentrations:
            assert 0 < c.share_of_failures <= 1 and 0 < c.share_of_orders <= 1
            assert c.excess > 0 and c.lift is not None and c.lift > 1
            assert c.failed <= c.orders


def test_a_failure_the_rollups_did_not_hold_yet_costs_its_handling_and_penalties():
    causes = without_slices(LATE, 3, FailureCosts())
    assert causes.concentrations == () and causes.cost.total == Decimal("21.00")


def test_the_default_costs_are_the_settings_default():
    assert (CONFIG_COSTS, CONFIG_CURRENCY) == (DEFAULT_FAILURE_COSTS, DEFAULT_COST_CURRENCY)
    assert parse_failure_costs(DEFAULT_FAILURE_COSTS) == FailureCosts()
    assert ConfigSettings.from_env({}).failure_costs == DEFAULT_FAILURE_COSTS


def test_costs_are_read_in_the_cost_currency_with_its_decimals():
    costs = parse_failure_costs(" handling=2, reship=1500 ,complete=100", "jpy")
    assert costs == FailureCosts("JPY", Decimal("2"), Decimal("1500"), {"complete": Decimal("100")})
    assert costs.penalty("on_time") == 0
    cost = failure_cost("complete", 3, 1, {"JPY": 700}, costs)
    assert cost.total == Decimal(6 + 300 + 1500 + 700)


@pytest.mark.parametrize(
    ("text", "currency", "message"),
    [
        ("handling=4.00,shipping=2", "EUR", "'shipping=2' names none of handling, reship, complete"),
        ("handling=four", "EUR", "'handling=four' is not NAME=AMOUNT"),
        ("handling", "EUR", "'handling' is not NAME=AMOUNT"),
        ("reship=-1", "EUR", "'reship=-1' is not NAME=AMOUNT"),
        ("reship=NaN", "EUR", "'reship=NaN' is not NAME=AMOUNT"),
        ("on_time=2.005", "EUR", "'on_time=2.005' has more decimals than EUR has"),
        ("handling=1.5", "JPY", "'handling=1.5' has more decimals than JPY has"),
        ("handling=1", "EURO", "PERFECTORDER_FAILURE_COST_CURRENCY: 'EURO' is not a currency"),
    ],
)
def test_malformed_costs_are_refused_naming_the_entry(text, currency, message):
    with pytest.raises(ValueError, match=message):
        parse_failure_costs(text, currency)


def test_minor_units_round_half_to_even():
    assert to_minor(Decimal("12.345"), "EUR") == 1234 and to_minor(Decimal("7"), "BHD") == 7000
