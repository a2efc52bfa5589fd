from datetime import UTC, date, datetime, time

from perfectorder.domain.catalog import Warehouse
from perfectorder.domain.promise import (
    WorkCalendar,
    backorder_ship_date,
    delivery_date,
    earliest_ship_date,
    final_promise,
)

BERLIN = Warehouse(
    1, "BER", "Europe/Berlin", handling_days=0, cutoff=time(15, 0), priority=1, daily_capacity=None
)
CALENDAR = WorkCalendar(holidays=frozenset({date(2026, 12, 25), date(2026, 12, 26)}))


def test_an_order_before_the_cut_off_ships_the_same_day():
    placed = datetime(2026, 11, 24, 13, 59, tzinfo=UTC)  # 14:59 in Berlin
    assert earliest_ship_date(placed, BERLIN, CALENDAR) == date(2026, 11, 24)


def test_the_cut_off_is_read_in_the_warehouse_time_zone():
    placed = datetime(2026, 11, 24, 14, 30, tzinfo=UTC)  # 15:30 in Berlin, after the cut-off
    assert earliest_ship_date(placed, BERLIN, CALENDAR) == date(2026, 11, 25)


def test_a_friday_evening_order_ships_on_monday():
    placed = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
    assert earliest_ship_date(placed, BERLIN, CALENDAR) == date(2026, 11, 30)


def test_handling_and_production_days_count_working_days_only():
    warehouse = Warehouse(2, "MAD", "Europe/Madrid", 1, time(13, 0), 2, None)
    placed = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)  # Thursday morning
    assert earliest_ship_date(placed, warehouse, CALENDAR) == date(2026, 11, 27)
    assert earliest_ship_date(placed, warehouse, CALENDAR, production_days=2) == date(2026, 12, 1)


def test_transit_skips_weekends_and_holidays():
    assert delivery_date(date(2026, 12, 23), 2, CALENDAR) == date(2026, 12, 28)


def test_zero_transit_on_a_holiday_moves_to_the_next_working_day():
    assert delivery_date(date(2026, 12, 25), 0, CALENDAR) == date(2026, 12, 28)


def test_backorders_wait_for_the_supplier_lead_time():
    placed = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    assert backorder_ship_date(placed, 5, CALENDAR) == date(2026, 12, 2)


def test_the_last_parcel_sets_the_promise_unless_the_customer_asked_for_later():
    days = [date(2026, 12, 1), date(2026, 12, 3)]
    assert final_promise(days, None) == date(2026, 12, 3)
    assert final_promise(days, date(2026, 12, 2)) == date(2026, 12, 3)
    assert final_promise(days, date(2026, 12, 10)) == date(2026, 12, 10)
