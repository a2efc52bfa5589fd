from datetime import date

from perfectorder.adapters.db.partitions import is_partition, month_start, next_month, partition_name


def test_months_turn_over_the_year_end():
    assert next_month(date(2026, 12, 1)) == date(2027, 1, 1)
    assert next_month(date(2027, 1, 1)) == date(2027, 2, 1)
    assert month_start(date(2027, 2, 28)) == date(2027, 2, 1)
    assert partition_name("order_events", date(2027, 1, 1)) == "order_events_2027_01"


def test_only_our_partitions_are_hidden_from_the_schema_comparison():
    assert is_partition("order_events_2027_01") and is_partition("outbox_attempts_archive_default")
    assert not is_partition("order_events") and not is_partition("orders_2027_01")
    assert not is_partition("order_events_2027_1") and not is_partition("outbox_archive")
