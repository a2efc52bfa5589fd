"""Issue 17: the definitions behind the Perfect Order figures, worked by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from perfectorder.domain.notifications import (
    MESSAGE_LATE,
    MESSAGE_MISSING,
    EmailKind,
    SentMessage,
    communication_verdict,
)
from perfectorder.metrics.kpi_rollup import PURCHASES, kpi_contributions
from perfectorder.metrics.kpis import (
    OrderKpiFacts,
    customer_behaviour,
    first_shipment_fill,
    kpis,
)
from perfectorder.metrics.measures import BY_NAME
from perfectorder.metrics.perfect_order import (
    IssueFact,
    LineFact,
    OrderFacts,
    Settings,
    ShipmentFact,
    VerdictState,
    delivered_at,
    evaluate,
    overdue_before,
)

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def kpi_order(
    oid: int, *, customer: int = 1, hours: dict[str, float] | None = None, **changes
) -> OrderKpiFacts:
    reached = {stage: T0 + timedelta(hours=h) for stage, h in (hours or {}).items()}
    base: dict[str, object] = {
        "order_id": oid,
        "customer_id": customer,
        "placed_at": T0,
        "cancelled": False,
        "promised_ship_date": date(2026, 11, 2),
        "promised_date": date(2026, 11, 4),
        "reached": reached,
    }
    base.update(changes)
    return OrderKpiFacts(**base)  # type: ignore[arg-type]


def test_a_parcel_with_one_unit_too_many_fills_a_line_no_more_than_it_asked_for():
    # 2 x KETTLE-7 and 1 x TOASTER-3 ordered; the parcel held 3 kettles and no toaster.
    complete, units = first_shipment_fill([("KETTLE-7", 2), ("TOASTER-3", 1)], {"KETTLE-7": 3})
    assert (complete, units) == (1, 2)


def test_two_lines_of_one_sku_share_its_units_rather_than_count_them_twice():
    complete, units = first_shipment_fill([("MUG-9", 2), ("MUG-9", 2)], {"MUG-9": 3})
    assert (complete, units) == (1, 3)


def test_order_lead_time_runs_to_delivery_and_time_to_ship_to_the_first_parcel():
    shipped_only = kpi_order(1, hours={"shipped": 10})
    delivered = kpi_order(2, hours={"shipped": 6, "delivered": 54}, delivered_on=date(2026, 11, 4))
    result = kpis([shipped_only, delivered])
    assert (result.lead_time_hours.count, result.lead_time_hours.median) == (1, pytest.approx(54))
    assert (result.time_to_ship_hours.count, result.time_to_ship_hours.median) == (2, pytest.approx(8))
    lead, ship = BY_NAME["lead_time_hours"].value, BY_NAME["time_to_ship_hours"].value
    assert lead is not None and ship is not None
    assert (lead(delivered), ship(delivered)) == (pytest.approx(54), pytest.approx(6))
    assert lead(shipped_only) is None


PLACED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ON_TIME_MAIL = (
    SentMessage(EmailKind.CONFIRMATION, PLACED, PLACED + timedelta(minutes=1)),
    SentMessage(EmailKind.SHIPPED, PLACED + timedelta(hours=30), PLACED + timedelta(hours=30, minutes=1)),
)


def facts(**changes) -> OrderFacts:
    base: dict[str, object] = {
        "order_id": 41,
        "placed_at": PLACED,
        "promised_date": date(2026, 11, 6),
        "promised_ship_date": date(2026, 11, 3),
        "cancelled": False,
        "lines": (LineFact("LANTERN-5", 2, 2),),
        "messages": ON_TIME_MAIL,
    }
    base.update(changes)
    return OrderFacts(**base)  # type: ignore[arg-type]


def test_a_lost_parcel_fails_complete_and_on_time_at_claim_time_in_shipping():
    shipped = PLACED + timedelta(hours=30)
    claimed = datetime(2026, 11, 4, 16, 0, tzinfo=UTC)  # before the promise: lost is lost
    lost = facts(
        shipments=(ShipmentFact("GLS", "BER", shipped, None, lost_at=claimed),),
        issues=(IssueFact("complete", "shipping", "lost_in_transit", "GLS 4711: lost in the network"),),
    )
    verdict = evaluate(lost, now=claimed + timedelta(hours=1))
    assert verdict.state is VerdictState.PROVISIONAL
    assert verdict.components == {
        "complete": False,
        "on_time": False,
        "accurate": True,
        "undamaged": True,
        "communicated": True,
    }
    assert {(f.component, f.stage, f.code) for f in verdict.failures} == {
        ("complete", "shipping", "lost_in_transit"),
        ("on_time", "shipping", "lost_in_transit"),
    }
    assert delivered_at(lost) == claimed  # the settlement window runs from the claim
    assert evaluate(lost, now=claimed + timedelta(days=32)).state is VerdictState.FINAL


def test_a_parcel_in_transit_without_a_claim_is_still_pending():
    moving = facts(shipments=(ShipmentFact("GLS", "BER", PLACED + timedelta(hours=30), None),))
    assert evaluate(moving, now=PLACED + timedelta(days=90)).state is VerdictState.PENDING


def test_exchanges_and_reshipments_are_neither_purchases_nor_make_a_repeat_customer():
    bought = kpi_order(1, customer=7)
    exchange = kpi_order(2, customer=7, replacement=True)
    once = customer_behaviour([bought, exchange])
    assert (once.customers, once.orders_per_customer, once.repeat_purchase_rate) == (1, 1.0, 0.0)
    twice = customer_behaviour([bought, exchange, kpi_order(3, customer=7)])
    assert (twice.orders_per_customer, twice.repeat_purchase_rate) == (2.0, 1.0)
    # Nor does the exchange add a purchase to the rollups the report sums.
    assert not any(key[1] == PURCHASES for key in kpi_contributions(date(2026, 11, 2), exchange))


@pytest.mark.parametrize(
    ("zone", "now", "late"),
    [
        # Already the 7th in Auckland while it is still the 6th in UTC: late there.
        ("Pacific/Auckland", datetime(2026, 11, 6, 12, 0, tzinfo=UTC), True),
        # Already the 7th in UTC while it is still the 6th in Los Angeles: not late yet.
        ("America/Los_Angeles", datetime(2026, 11, 7, 3, 0, tzinfo=UTC), False),
        ("America/Los_Angeles", datetime(2026, 11, 7, 9, 0, tzinfo=UTC), True),
    ],
)
def test_late_now_is_exactly_not_on_time_if_delivered_now(zone, now, late):
    promised = date(2026, 11, 6)
    assert (promised < overdue_before(now, zone)) is late
    delivered_now = facts(
        promised_date=promised,
        destination_timezone=zone,
        shipments=(ShipmentFact("DHL", "BER", PLACED + timedelta(hours=30), now),),
    )
    assert evaluate(delivered_now, now=now).components["on_time"] is (not late)


def test_the_tolerance_moves_late_by_the_same_days_on_both_sides():
    now = datetime(2026, 11, 8, 12, 0, tzinfo=UTC)
    lenient = Settings(tolerance_days=2)
    assert not date(2026, 11, 6) < overdue_before(now, "UTC", lenient)
    assert date(2026, 11, 5) < overdue_before(now, "UTC", lenient)


def test_a_message_that_arrived_after_its_deadline_is_late_not_missing():
    delayed_mail = (
        SentMessage(EmailKind.CONFIRMATION, PLACED, PLACED + timedelta(hours=5)),
        SentMessage(EmailKind.SHIPPED, PLACED + timedelta(hours=30), PLACED + timedelta(hours=31)),
    )
    verdict = communication_verdict(
        placed_at=PLACED,
        shipped_at=PLACED + timedelta(hours=30),
        promised_date=date(2026, 11, 6),
        delivered_on=date(2026, 11, 5),
        messages=delayed_mail,
    )
    assert verdict.failures == (
        (MESSAGE_LATE, "the order confirmation reached the customer 4 hour(s) after its deadline"),
    )
    never = communication_verdict(
        placed_at=PLACED,
        shipped_at=None,
        promised_date=date(2026, 11, 6),
        delivered_on=None,
        messages=(SentMessage(EmailKind.CONFIRMATION, PLACED, None),),
    )
    assert [code for code, _ in never.failures] == [MESSAGE_MISSING]


def test_the_verdict_names_a_late_message_message_late():
    delivered = datetime(2026, 11, 5, 10, 0, tzinfo=UTC)
    late_mail = (
        SentMessage(EmailKind.CONFIRMATION, PLACED, PLACED + timedelta(hours=20)),
        ON_TIME_MAIL[1],
    )
    judged = evaluate(
        facts(
            messages=late_mail,
            shipments=(ShipmentFact("DHL", "BER", PLACED + timedelta(hours=30), delivered),),
        ),
        now=delivered,
    )
    assert [(f.component, f.code, f.stage) for f in judged.failures] == [
        ("communicated", "message_late", "communication")
    ]


def test_customer_mail_is_retried_for_a_day_at_least_and_the_horizon_is_configurable():
    from perfectorder.config import Settings as AppSettings

    assert AppSettings.from_env({}).email_retry_hours == 48
    assert AppSettings.from_env({"PERFECTORDER_EMAIL_RETRY_HOURS": "72"}).email_retry_hours == 72
    with pytest.raises(ValueError, match="EMAIL_RETRY_HOURS"):
        AppSettings.from_env({"PERFECTORDER_EMAIL_RETRY_HOURS": "1"})
