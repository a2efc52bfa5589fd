"""Hand-worked verdicts for every component, and the properties every set of rates must keep."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from perfectorder.domain.notifications import EmailKind, SentMessage
from perfectorder.metrics.perfect_order import (
    COMPONENTS,
    Failure,
    FeedbackFact,
    IssueFact,
    LineFact,
    OnTimeReference,
    OrderFacts,
    Settings,
    ShipmentFact,
    Verdict,
    VerdictState,
    evaluate,
)
from perfectorder.metrics.rates import improvements, rates

PLACED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
SHIPPED = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
NOW = datetime(2026, 12, 31, tzinfo=UTC)


def told(*kinds: EmailKind, late_notice: datetime | None = None) -> tuple[SentMessage, ...]:
    sent = {
        EmailKind.CONFIRMATION: PLACED + timedelta(minutes=1),
        EmailKind.SHIPPED: SHIPPED + timedelta(minutes=5),
    }
    out = [SentMessage(k, sent[k], sent[k]) for k in kinds]
    if late_notice is not None:
        out.append(SentMessage(EmailKind.DELAYED, late_notice, late_notice))
    return tuple(out)


def facts(**changes) -> OrderFacts:
    base = dict(  # noqa: C408 - keyword form reads like the dataclass
        order_id=1,
        placed_at=PLACED,
        promised_date=date(2026, 11, 4),
        promised_ship_date=date(2026, 11, 2),
        cancelled=False,
        lines=(LineFact("MUG", 2, 2),),
        shipments=(ShipmentFact("DHL", "BER", SHIPPED, datetime(2026, 11, 4, 11, 0, tzinfo=UTC)),),
        messages=told(EmailKind.CONFIRMATION, EmailKind.SHIPPED),
        destination_timezone="Europe/Berlin",
    )
    base.update(changes)
    return OrderFacts(**base)


def failed(verdict) -> list[str]:
    return [str(f) for f in verdict.failures]


def test_a_clean_order_is_perfect_and_final_after_the_settlement_window():
    verdict = evaluate(facts(), now=NOW)
    assert (verdict.state, verdict.perfect, failed(verdict)) == (VerdictState.FINAL, True, [])
    assert verdict.components == dict.fromkeys(
        ("complete", "on_time", "accurate", "undamaged", "communicated"), True
    )


def test_verdicts_are_provisional_inside_the_window_and_open_orders_pending():
    assert evaluate(facts(), now=datetime(2026, 11, 20, tzinfo=UTC)).state is VerdictState.PROVISIONAL
    open_order = facts(shipments=(ShipmentFact("DHL", "BER", SHIPPED, None),))
    assert evaluate(open_order, now=NOW).state is VerdictState.PENDING
    assert evaluate(open_order, now=NOW).perfect is None
    assert evaluate(facts(cancelled=True), now=NOW).state is VerdictState.CANCELLED


def test_late_delivery_names_the_days_and_blames_the_carrier_when_the_warehouse_was_on_time():
    late = facts(shipments=(ShipmentFact("GLS", "BER", SHIPPED, datetime(2026, 11, 6, 10, tzinfo=UTC)),))
    assert failed(evaluate(late, now=NOW)) == [
        "on_time: delivered 2 day(s) after the promise, carrier GLS; stage: shipping",
        "communicated: the order was late and no delay notice reached the customer before the promise "
        "passed; stage: communication",
    ]


def test_a_late_release_is_the_warehouses_fault():
    shipped_late = datetime(2026, 11, 4, 9, tzinfo=UTC)
    late = facts(
        shipments=(ShipmentFact("DHL", "BER", shipped_late, datetime(2026, 11, 5, 10, tzinfo=UTC)),),
        messages=None,
    )
    [failure] = evaluate(late, now=NOW).failures
    assert (failure.component, failure.stage) == ("on_time", "warehouse")
    assert "shipped 2 day(s) late" in failure.reason


def test_dates_are_compared_in_the_destination_time_zone():
    # 23:30 UTC on the promised day is already the next day in Berlin.
    edge = facts(
        shipments=(ShipmentFact("DHL", "BER", SHIPPED, datetime(2026, 11, 4, 23, 30, tzinfo=UTC)),),
        messages=None,
    )
    assert evaluate(edge, now=NOW).components["on_time"] is False
    assert evaluate(replace(edge, destination_timezone="UTC"), now=NOW).components["on_time"] is True


@pytest.mark.parametrize(
    ("reference", "tolerance", "on_time"),
    [
        (OnTimeReference.ORIGINAL, 0, False),
        (OnTimeReference.ORIGINAL, 1, True),
        (OnTimeReference.LATEST, 0, True),
        (OnTimeReference.REQUESTED, 0, False),
    ],
)
def test_the_on_time_reference_and_tolerance_are_configurable(reference, tolerance, on_time):
    late = facts(
        shipments=(ShipmentFact("DHL", "BER", SHIPPED, datetime(2026, 11, 5, 10, tzinfo=UTC)),),
        rescheduled_date=date(2026, 11, 5),
        requested_date=date(2026, 11, 3),
        messages=None,
    )
    verdict = evaluate(late, now=NOW, settings=Settings(reference=reference, tolerance_days=tolerance))
    assert verdict.components["on_time"] is on_time


def test_each_issue_fails_its_own_component_with_its_stage():
    cases = {
        IssueFact("accurate", "packing", "packing_mismatch", "MUG: picked 2, packed 1"): (
            "accurate",
            "packing",
        ),
        IssueFact("undamaged", "shipping", "damaged_in_transit"): ("undamaged", "shipping"),
        IssueFact("complete", "shipping", "lost_in_transit"): ("complete", "shipping"),
        IssueFact("accurate", "catalog", "return_not_as_described"): ("accurate", "catalog"),
    }
    for issue, (component, stage) in cases.items():
        [failure] = evaluate(facts(issues=(issue,)), now=NOW).failures
        assert (failure.component, failure.stage) == (component, stage)


def test_a_refused_scan_or_a_resourced_short_pick_does_not_spoil_the_order():
    fine = facts(
        issues=(
            IssueFact("accurate", "picking", "picking_error"),
            IssueFact("complete", "picking", "short_pick"),
        )
    )
    assert evaluate(fine, now=NOW).perfect is True


def test_units_never_shipped_make_the_order_incomplete_once_the_rest_is_lost():
    lost = facts(
        lines=(LineFact("MUG", 3, 2),), issues=(IssueFact("complete", "shipping", "lost_in_transit"),)
    )
    assert {f.code for f in evaluate(lost, now=NOW).failures} == {"short_shipment", "lost_in_transit"}


def test_customer_feedback_counts_as_evidence():
    unhappy = facts(feedback=FeedbackFact(2, arrived_complete=True, undamaged=False, as_described=False))
    assert {f.code for f in evaluate(unhappy, now=NOW).failures} == {
        "feedback_damaged",
        "feedback_not_as_described",
    }


def test_a_timely_delay_notice_keeps_a_late_order_well_communicated():
    late_delivery = (ShipmentFact("DHL", "BER", SHIPPED, datetime(2026, 11, 6, 10, tzinfo=UTC)),)
    warned = facts(
        shipments=late_delivery,
        messages=told(
            EmailKind.CONFIRMATION, EmailKind.SHIPPED, late_notice=datetime(2026, 11, 3, 12, tzinfo=UTC)
        ),
    )
    verdict = evaluate(warned, now=NOW)
    assert verdict.components["communicated"] is True and verdict.components["on_time"] is False
    unknown = evaluate(facts(messages=None), now=NOW)
    assert unknown.components["communicated"] is None and unknown.perfect is None


def test_rates_and_index_on_a_hand_worked_table():
    table = [
        facts(order_id=1),
        facts(order_id=2, issues=(IssueFact("undamaged", "shipping", "damaged_in_transit"),)),
        facts(order_id=3, issues=(IssueFact("accurate", "packing", "packing_mismatch"),)),
        facts(order_id=4),
        facts(order_id=5, shipments=(ShipmentFact("DHL", "BER", SHIPPED, None),)),  # pending
        facts(order_id=6, cancelled=True),
    ]
    result = rates(evaluate(f, now=NOW) for f in table)
    assert (result.orders, result.perfect, result.perfect_order_rate) == (4, 2, 0.5)
    assert result.components["undamaged"].rate == 0.75 and result.components["accurate"].rate == 0.75
    assert result.components["complete"].rate == 1.0
    assert result.perfect_order_index == pytest.approx(0.75 * 0.75)
    assert (result.pending, result.cancelled) == (1, 1)
    assert result.cancellation_rate == pytest.approx(1 / 6)
    [first, second] = improvements(evaluate(f, now=NOW) for f in table)
    assert (first.orders, first.rate_without) == (1, 0.75)
    assert {first.code, second.code} == {"damaged_in_transit", "packing_mismatch"}


def test_a_component_never_measured_has_no_rate_and_leaves_the_index_alone():
    result = rates([evaluate(facts(messages=None), now=NOW)])
    assert result.components["communicated"].rate is None and result.perfect_order_index == 1.0
    assert result.perfect_order_rate is None and result.orders == 1


def test_components_without_facts_are_not_measured_never_perfect_and_never_failed():
    history = facts(
        messages=None,
        unmeasured=frozenset({"accurate", "undamaged"}),
        issues=(IssueFact("undamaged", "shipping", "damaged_in_transit"),),
    )
    verdict = evaluate(history, now=NOW)
    assert verdict.components == {
        "complete": True,
        "on_time": True,
        "accurate": None,
        "undamaged": None,
        "communicated": None,
    }
    assert verdict.failures == () and verdict.perfect is None
    late = evaluate(
        facts(
            messages=None,
            unmeasured=frozenset({"accurate"}),
            shipments=(ShipmentFact("DHL", "BER", SHIPPED, datetime(2026, 11, 9, 11, 0, tzinfo=UTC)),),
        ),
        now=NOW,
    )
    assert late.perfect is False
    result = rates([verdict, late])
    assert result.components["on_time"].rate == 0.5 and result.components["accurate"].rate is None
    assert result.perfect_order_rate is None  # neither order has all five components measured
    empty = rates([])
    assert (empty.orders, empty.perfect_order_rate, empty.perfect_order_index) == (0, None, None)


ISSUES = st.sampled_from(
    [
        IssueFact("accurate", "packing", "packing_mismatch"),
        IssueFact("undamaged", "shipping", "damaged_in_transit"),
        IssueFact("complete", "shipping", "lost_in_transit"),
        IssueFact("accurate", "picking", "picking_error"),
    ]
)
ORDERS = st.builds(
    lambda oid, days_late, issues, delivered, cancelled: facts(
        order_id=oid,
        issues=tuple(issues),
        cancelled=cancelled,
        shipments=(
            ShipmentFact(
                "DHL",
                "BER",
                SHIPPED,
                datetime(2026, 11, 4, 10, tzinfo=UTC) + timedelta(days=days_late) if delivered else None,
            ),
        ),
    ),
    st.integers(1, 10**6),
    st.integers(-2, 5),
    st.lists(ISSUES, max_size=3),
    st.booleans(),
    st.booleans(),
)


@given(st.lists(ORDERS, max_size=30), st.randoms())
def test_rate_properties_hold_for_any_set_of_orders(orders, rnd):
    verdicts = [evaluate(f, now=NOW) for f in orders]
    result = rates(verdicts)
    for component in result.components.values():
        assert component.rate is None or 0 <= component.rate <= 1
        if component.rate is not None and result.perfect_order_rate is not None:
            assert result.perfect_order_rate <= component.rate + 1e-12
    if result.perfect_order_index is not None:
        product = 1.0
        for c in result.components.values():
            product *= c.rate if c.rate is not None else 1.0
        assert result.perfect_order_index == pytest.approx(product)
    shuffled = list(verdicts)
    rnd.shuffle(shuffled)
    assert rates(shuffled) == result
    assert result.orders == sum(1 for v in verdicts if v.state is VerdictState.FINAL)


def test_failures_tied_but_for_their_stage_rank_by_stage_whatever_order_the_orders_come_in():
    def late(order_id: int, stage: str) -> Verdict:
        failure = Failure("on_time", "delivered 1 day(s) after the promise", stage, "late_delivery")
        return Verdict(
            order_id, VerdictState.FINAL, dict.fromkeys(COMPONENTS, True) | {"on_time": False}, (failure,)
        )

    verdicts = [late(1, "warehouse"), late(2, "shipping")]
    for ordered in (verdicts, verdicts[::-1]):
        assert [i.stage for i in improvements(ordered)] == ["shipping", "warehouse"]
