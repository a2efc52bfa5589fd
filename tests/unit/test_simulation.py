"""The simulator's carriers that track: scans every few hours, the estimates they carry (a share a
working day off), silences that swallow scans; its suppliers' shares, packs and draws; and the
scenario keys that ask for them."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest

from perfectorder.domain.errors import InvalidInput
from perfectorder.domain.promise import WorkCalendar
from perfectorder.simulation.scans import in_transit_scans
from perfectorder.simulation.scenario import Carrier, Supplier, scenario_from_dict
from perfectorder.simulation.suppliers import assign, binomial, packs

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


# -- suppliers ---------------------------------------------------------------------------------


def test_the_scenario_reads_a_supplier_and_its_degraded_state():
    scenario = scenario_from_dict(
        {
            "replenish": True,
            "suppliers": {
                "Quillfeather": {
                    "lead_time_days": [4, 5, 6],
                    "fill": 0.9,
                    "defect": 0.02,
                    "pack_size": 12,
                    "min_order": 24,
                    "unit_cost": 0.4,
                    "degrade_day": 45,
                    "degraded_lead_days": [9, 10],
                    "degraded_defect": 0.1,
                }
            },
        }
    )
    [quill] = scenario.suppliers
    assert scenario.replenish
    assert (quill.lead_time_days, quill.quoted_lead_days, quill.pack_size, quill.min_order) == (
        (4, 5, 6),
        6,
        12,
        24,
    )
    # Before its day the supplier is as it was; from it on, slower and worse, filling as before.
    assert quill.on(44) == ((4, 5, 6), 0.9, 0.02)
    assert quill.on(45) == ((9, 10), 0.9, 0.1)


def test_a_supplier_without_a_degrade_day_never_degrades_and_quotes_its_longest_lead_time():
    [plain] = scenario_from_dict({"suppliers": {"Brightwell": {"lead_time_days": [2, 7]}}}).suppliers
    assert plain.quoted_lead_days == 7 and plain.on(10_000) == ((2, 7), 1.0, 0.0)
    assert scenario_from_dict({}).suppliers == () and not scenario_from_dict({}).replenish


@pytest.mark.parametrize(
    ("spec", "field", "message"),
    [
        ({"lead_time_days": []}, "suppliers.ACME.lead_time_days", "list of whole working days"),
        ({"lead_time_days": [0, 3]}, "suppliers.ACME.lead_time_days", "at least 1"),
        ({"lead_time_days": 5}, "suppliers.ACME.lead_time_days", "list of whole"),
        ({"degraded_lead_days": [2.5]}, "suppliers.ACME.degraded_lead_days", "whole working days"),
        ({"fill": 1.2}, "suppliers.ACME.fill", "between 0 and 1"),
        ({"degraded_defect": -0.1}, "suppliers.ACME.degraded_defect", ">= 0"),
        ({"defect": "some"}, "suppliers.ACME.defect", "a finite number"),
        ({"faulty": float("nan")}, "suppliers.ACME.faulty", "a finite number"),
        ({"share": float("inf")}, "suppliers.ACME.share", "a finite number"),
        ({"faulty": 1.5}, "suppliers.ACME.faulty", "between 0 and 1"),
        ({"pack_size": 0}, "suppliers.ACME.pack_size", "at least 1"),
        ({"min_order": 2.5}, "suppliers.ACME.min_order", "whole number"),
        ({"quoted_lead_days": True}, "suppliers.ACME.quoted_lead_days", "whole number"),
        ({"degrade_day": -2}, "suppliers.ACME.degrade_day", "at least -1"),
        ({"unit_cost": 0}, "suppliers.ACME.unit_cost", "charges something"),
        ({"lead_days": 5}, "suppliers.ACME.lead_days", "unknown supplier setting"),
    ],
)
def test_a_bad_supplier_key_is_refused_by_name(spec, field, message):
    with pytest.raises(InvalidInput, match=message) as refused:
        scenario_from_dict({"suppliers": {"ACME": spec}})
    assert refused.value.field == field


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"replenish": True}, "replenish"),
        ({"replenish": "yes", "suppliers": {"ACME": {}}}, "replenish"),
        ({"suppliers": {"ACME": {"share": 0}}}, "suppliers"),
        ({"suppliers": {}}, "suppliers"),
        ({"suppliers": {"ACME": 3}}, "suppliers.ACME"),
    ],
)
def test_replenishing_needs_suppliers_and_suppliers_need_a_share(raw, field):
    with pytest.raises(InvalidInput) as refused:
        scenario_from_dict(raw)
    assert refused.value.field == field


def test_products_go_to_suppliers_in_turn_by_their_shares():
    even = (Supplier("A"), Supplier("B"), Supplier("C"))
    assert [s.name for s in assign(even, 7)] == list("ABCABCA")
    weighted = (Supplier("A", share=3), Supplier("B", share=1), Supplier("C", share=0))
    names = [s.name for s in assign(weighted, 8)]
    assert names.count("A") == 6 and names.count("B") == 2 and "C" not in names
    assert names[:4].count("B") == 1  # spread over the catalog, not all at its end


def test_an_order_is_rounded_up_to_whole_packs_and_at_least_the_minimum():
    supplier = Supplier("A", pack_size=12, min_order=48)
    assert [packs(supplier, q) for q in (1, 48, 49, 300)] == [48, 48, 60, 300]
    assert packs(Supplier("B"), 7) == 7


def test_a_certain_outcome_draws_no_random_number():
    rng = random.Random(9)
    before = rng.getstate()
    assert (binomial(rng, 40, 1.0), binomial(rng, 40, 0.0), binomial(rng, 0, 0.5)) == (40, 0, 0)
    assert rng.getstate() == before
    drawn = sum(binomial(random.Random(n), 100, 0.2) for n in range(200))
    assert 3600 < drawn < 4400
