"""The promise-risk model's pure parts: where an order stands at a moment, its features, the
rules' baseline, the reasons and actions a score gives, and the measures the bench reports."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from perfectorder.domain.promise_risk import (
    FEATURES,
    Backlog,
    OrderLife,
    RiskModel,
    StoreRhythm,
    brier,
    end_of_day,
    explain,
    features_at,
    precision_recall,
    recall_at_precision,
    rhythm_of,
    rule_flag,
    snapshot_moment,
)

MONDAY = datetime(2026, 3, 2, 9, tzinfo=UTC)
RHYTHM = StoreRhythm(
    stage_p50_hours={"placed": 2.0, "approved": 10.0, "picked": 4.0, "on_hold": 24.0},
    stage_p90_hours={"placed": 6.0, "approved": 20.0, "picked": 8.0, "on_hold": 48.0},
    lane_transit_p50_hours={"economy AT": 96.0},
    lane_late_rate={"economy AT": 0.3},
    late_rate=0.05,
    transit_p50_hours=48.0,
)


def life(**changes: object) -> OrderLife:
    values: dict[str, object] = {
        "order_id": 7,
        "lane": "standard DE",
        "placed_at": MONDAY,
        "deadline": end_of_day(date(2026, 3, 6)),
    }
    values.update(changes)
    return OrderLife(**values)  # type: ignore[arg-type]


def feature(snapshot, name):
    return snapshot.features[FEATURES.index(name)]


def test_an_order_stands_in_the_last_stage_it_reached_or_on_its_open_hold():
    held = life(
        approved_at=MONDAY + timedelta(hours=30),
        holds=((MONDAY + timedelta(hours=1), MONDAY + timedelta(hours=29)),),
    )
    assert held.stage_at(MONDAY + timedelta(minutes=30)) == ("placed", MONDAY)
    assert held.stage_at(MONDAY + timedelta(hours=5)) == ("on_hold", MONDAY + timedelta(hours=1))
    assert held.stage_at(MONDAY + timedelta(hours=29, minutes=30))[0] == "placed"
    assert held.stage_at(MONDAY + timedelta(hours=31)) == ("approved", MONDAY + timedelta(hours=30))


def test_slack_is_the_time_left_minus_what_the_remaining_stages_and_the_lane_usually_take():
    # Placed Monday 09:00, due by the end of Friday: 111 hours left; it usually needs
    # 2 + 10 + 4 hours in the warehouse and 48 in transit: 47 hours (1.96 days) to spare.
    snap = features_at(life(), MONDAY + timedelta(hours=4), RHYTHM, 0.0)
    assert snap.stage == "placed"
    assert feature(snap, "slack_days") == pytest.approx((111 - 4 - (0 + 10 + 4 + 48)) / 24)
    assert feature(snap, "stage_age") == pytest.approx(4 / 6)
    assert feature(snap, "behind") == 0.0
    slow = features_at(life(lane="economy AT"), MONDAY + timedelta(hours=100), RHYTHM, 0.0)
    assert feature(slow, "behind") > 0 and feature(slow, "lane_late_rate") == 0.3


def test_the_rules_flag_what_is_due_by_tomorrow_and_unshipped_or_what_the_delay_watch_warned_of():
    order = life(deadline=end_of_day(date(2026, 3, 3)))
    assert rule_flag(order, MONDAY, "approved")
    assert not rule_flag(order, MONDAY, "shipped")
    later = life()
    assert not rule_flag(later, MONDAY, "approved")
    assert rule_flag(life(flagged_at=MONDAY - timedelta(hours=1)), MONDAY, "shipped")


def test_a_snapshot_lies_while_the_order_was_open_and_its_outcome_unknown():
    delivered = life(delivered_at=MONDAY + timedelta(days=2))
    assert snapshot_moment(delivered, 0.5) == MONDAY + timedelta(days=1)
    late = life(delivered_at=end_of_day(date(2026, 3, 9)))
    assert snapshot_moment(late, 1.0) == late.deadline
    assert snapshot_moment(life(deadline=MONDAY), 0.5) is None


def model(weights: dict[str, float]) -> RiskModel:
    return RiskModel(
        intercept=-2.0,
        weights=tuple(weights.get(f, 0.0) for f in FEATURES),
        means=tuple(0.0 for _ in FEATURES),
        scales=tuple(1.0 for _ in FEATURES),
        rhythm=RHYTHM,
        trained_at=MONDAY,
        orders=100,
        base_rate=0.1,
    )


def test_a_score_says_why_strongest_reason_first_and_suggests_what_to_do():
    m = model({"backordered": 2.0, "stage_age": 0.5, "carrier_delay": 3.0})
    order = life(backordered=True, lines=3, approved_at=MONDAY + timedelta(hours=1))
    score = explain(m, features_at(order, MONDAY + timedelta(hours=30), RHYTHM, 0.0), order)
    assert [r.feature for r in score.reasons][:2] == ["backordered", "stage_age"]
    assert "backordered" in score.reasons[0].text
    assert score.action == "split"  # three lines: ship what is there
    assert score.probability == pytest.approx(
        m.probability(features_at(order, MONDAY + timedelta(hours=30), RHYTHM, 0.0).features)
    )
    single = life(backordered=True, approved_at=MONDAY + timedelta(hours=1))
    assert (
        explain(m, features_at(single, MONDAY + timedelta(hours=30), RHYTHM, 0.0), single).action
        == "re-source"
    )
    shipped = life(
        approved_at=MONDAY,
        picked_at=MONDAY,
        shipped_at=MONDAY + timedelta(hours=5),
        carrier_delay_at=MONDAY + timedelta(hours=20),
    )
    score = explain(m, features_at(shipped, MONDAY + timedelta(hours=30), RHYTHM, 0.0), shipped)
    assert score.reasons[0].feature == "carrier_delay" and score.action == "notify"


def test_probabilities_stay_between_zero_and_one_for_extreme_log_odds():
    assert model({"slack_days": -1e6}).probability([1.0] * len(FEATURES)) == 0.0
    assert model({"slack_days": 1e6}).probability([1.0] * len(FEATURES)) == 1.0


def test_the_rhythm_is_learned_from_finished_orders():
    lives = [
        life(
            order_id=i,
            approved_at=MONDAY + timedelta(hours=1 + i % 3),
            picked_at=MONDAY + timedelta(hours=10),
            shipped_at=MONDAY + timedelta(hours=12),
            delivered_at=MONDAY + timedelta(hours=60),
            late=i % 10 == 0,
        )
        for i in range(1, 101)
    ]
    rhythm = rhythm_of(lives)
    assert rhythm.stage_p50_hours["placed"] == 2.0 and rhythm.stage_p90_hours["placed"] == 3.0
    assert rhythm.stage_p50_hours["picked"] == 2.0
    assert rhythm.lane_transit_p50_hours["standard DE"] == 48.0
    assert rhythm.late_rate == 0.1 and rhythm.lane_rate("unknown XX") == 0.1


def test_backlog_is_orders_waiting_in_days_of_the_last_weeks_shipments():
    lives = [
        life(
            order_id=i,
            approved_at=MONDAY - timedelta(days=8),
            shipped_at=MONDAY - timedelta(days=i % 7 + 0.5),
        )
        for i in range(70)
    ]
    waiting = [life(order_id=100 + i, approved_at=MONDAY - timedelta(hours=2)) for i in range(20)]
    assert Backlog(lives + waiting).days_at(MONDAY) == pytest.approx(20 / 10)


def test_brier_precision_and_recall_at_precision_by_hand():
    outcomes = [True, False, True, False]
    assert brier([1.0, 0.0, 0.5, 0.5], outcomes) == pytest.approx((0 + 0 + 0.25 + 0.25) / 4)
    assert precision_recall([True, True, False, False], outcomes) == (0.5, 0.5)
    # Ranked 0.9 (miss), 0.8 (kept), 0.7 (miss): at precision 2/3 both misses are found.
    assert recall_at_precision([0.9, 0.8, 0.7, 0.1], [True, False, True, False], 2 / 3) == 1.0
    assert recall_at_precision([0.9, 0.8, 0.7, 0.1], [True, False, True, False], 1.0) == 0.5
    # Tied scores cannot be split by a threshold.
    assert recall_at_precision([0.5, 0.5], [True, False], 1.0) == 0.0


def test_a_term_from_the_good_side_of_a_feature_is_no_reason():
    # Fitted negative, the stage-age weight raises the odds of an order that has spent less time in
    # its stage than the average: that is no reason to call it late-prone.
    m = RiskModel(
        intercept=-2.0,
        weights=tuple(-1.0 if f == "stage_age" else 0.0 for f in FEATURES),
        means=tuple(2.0 if f == "stage_age" else 0.0 for f in FEATURES),
        scales=tuple(1.0 for _ in FEATURES),
        rhythm=RHYTHM,
        trained_at=MONDAY,
        orders=100,
        base_rate=0.1,
    )
    fresh = life(approved_at=MONDAY)
    score = explain(m, features_at(fresh, MONDAY + timedelta(hours=1), RHYTHM, 0.0), fresh)
    assert score.reasons == ()
