"""The simulator's carriers that track: scans every few hours, the estimates they carry (a share a
working day off), silences that swallow scans; and the scenario keys that ask for them."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest

from perfectorder.domain.errors import InvalidInput
from perfectorder.domain.promise import WorkCalendar
from perfectorder.simulation.scans import in_transit_scans
from perfectorder.simulation.scenario import Carrier, scenario_from_dict

CALENDAR = WorkCalendar()
FIRST = datetime(2026, 3, 3, 6, tzinfo=UTC)  # a Tuesday morning, the day after handover
ARRIVAL = datetime(2026, 3, 6, 14, tzinfo=UTC)  # Friday afternoon
PLANNED = date(2026, 3, 5)  # the day it would have come without its delay


def scans(carrier, *, seed=1, delay_known_at=None, arrival=ARRIVAL):
    return in_transit_scans(
        random.Random(seed),
        carrier,
        first=FIRST,
        arrival=arrival,
        planned=PLANNED,
        delay_known_at=delay_known_at,
        calendar=CALENDAR,
    )


def test_a_carrier_that_scans_daily_scans_every_day_until_the_delivery():
    found = scans(Carrier("DHL", "standard", 1.0, scan_hours=24))
    assert [s.at for s in found] == [FIRST + timedelta(days=n) for n in range(4)]
    assert all(s.estimate is None for s in found)


def test_a_carrier_without_tracking_options_scans_once_and_draws_nothing():
    rng = random.Random(3)
    before = rng.getstate()
    found = in_transit_scans(
        rng,
        Carrier("DHL", "standard", 1.0),
        first=FIRST,
        arrival=ARRIVAL,
        planned=PLANNED,
        delay_known_at=None,
        calendar=CALENDAR,
    )
    assert [s.at for s in found] == [FIRST] and rng.getstate() == before


def test_estimates_say_the_planned_day_until_the_carrier_knows_of_its_delay():
    carrier = Carrier("DHL", "standard", 1.0, eta=True, scan_hours=24)
    found = scans(carrier, delay_known_at=FIRST + timedelta(hours=4))
    assert [s.estimate for s in found] == [PLANNED, ARRIVAL.date(), ARRIVAL.date(), ARRIVAL.date()]
    assert [s.estimate for s in scans(carrier)] == [PLANNED] * 4


def test_a_share_of_estimates_is_a_working_day_off():
    carrier = Carrier("DHL", "standard", 1.0, eta=True, eta_wrong=0.3, scan_hours=24)
    found = [s.estimate for seed in range(400) for s in scans(carrier, seed=seed)]
    off = [d for d in found if d != PLANNED]
    assert set(off) == {date(2026, 3, 4), date(2026, 3, 6)}  # the working day before or after
    assert 0.25 < len(off) / len(found) < 0.35
    # Off across a weekend: the Friday before a Monday, the Tuesday after it.
    monday = in_transit_scans(
        random.Random(0),
        Carrier("DHL", "standard", 1.0, eta=True, eta_wrong=1.0),
        first=FIRST,
        arrival=ARRIVAL,
        planned=date(2026, 3, 9),
        delay_known_at=None,
        calendar=CALENDAR,
    )
    assert monday[0].estimate in (date(2026, 3, 6), date(2026, 3, 10))


def test_a_silent_parcel_misses_every_scan_for_the_gap_from_one_of_its_later_scans():
    carrier = Carrier("DHL", "standard", 1.0, scan_hours=12, scan_gap=1.0, scan_gap_hours=36)
    every = [FIRST + timedelta(hours=12 * n) for n in range(7)]  # Tuesday 06:00 to Friday 06:00
    starts = set()
    for seed in range(30):
        found = [s.at for s in scans(carrier, seed=seed)]
        missing = [m for m in every if m not in found]
        silent_from = missing[0]
        assert found[0] == FIRST and silent_from > FIRST
        assert missing == [m for m in every if silent_from <= m < silent_from + timedelta(hours=36)]
        starts.add(silent_from)
    assert len(starts) > 3
    # With no gap drawn, every scan comes.
    quiet = Carrier("DHL", "standard", 1.0, scan_hours=12, scan_gap=0.0)
    assert [s.at for s in scans(quiet)] == every


def test_the_scenario_reads_the_tracking_keys():
    scenario = scenario_from_dict(
        {
            "carriers": {
                "DHL": {
                    "eta": True,
                    "eta_wrong": 0.1,
                    "scan_hours": 24,
                    "scan_gap": 0.05,
                    "scan_gap_hours": 96,
                }
            }
        }
    )
    [dhl] = scenario.carriers
    assert (dhl.eta, dhl.eta_wrong, dhl.scan_hours, dhl.scan_gap, dhl.scan_gap_hours) == (
        True,
        0.1,
        24,
        0.05,
        96,
    )
    assert scenario_from_dict({"carriers": {"GLS": {}}}).carriers[0].scan_hours == 0


@pytest.mark.parametrize(
    ("spec", "field", "message"),
    [
        ({"eta": "yes"}, "carriers.DHL.eta", "true or false"),
        ({"eta_wrong": 1.5}, "carriers.DHL.eta_wrong", "between 0 and 1"),
        ({"scan_hours": -1}, "carriers.DHL.scan_hours", "at least 0"),
        ({"scan_hours": 2.5}, "carriers.DHL.scan_hours", "whole number"),
        ({"scan_hours": 24, "scan_gap_hours": 0}, "carriers.DHL.scan_gap_hours", "at least 1"),
        ({"scan_gap": 0.1}, "carriers.DHL.scan_gap", "needs scan_hours"),
        ({"scan_every": 24}, "carriers.DHL.scan_every", "unknown carrier setting"),
    ],
)
def test_a_bad_tracking_key_is_refused_by_name(spec, field, message):
    with pytest.raises(InvalidInput, match=message) as refused:
        scenario_from_dict({"carriers": {"DHL": spec}})
    assert refused.value.field == field
