"""Orders' courses for the promise-risk model, the model itself and the open orders' scores."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, select

from perfectorder.adapters.db import tables as t
from perfectorder.adapters.db.sql import upsert
from perfectorder.domain.promise_risk import (
    OrderLife,
    RiskModel,
    RiskScore,
    StoreRhythm,
    end_of_day,
)
from perfectorder.services.board_ports import OPEN_STATUSES
from perfectorder.services.promise_risk_ports import StoredScore

o, ov, r = t.orders, t.order_verdicts, t.order_risk
_PICKED = ov.c.kpi[("reached", "picked")].as_string()
_BACKORDERED = ov.c.kpi["backordered"].as_boolean()
_LINES = ov.c.kpi["lines_ordered"].as_integer()
_COLUMNS = (
    o.c.id,
    o.c.shipping_service,
    o.c.ship_country,
    o.c.placed_at,
    o.c.promised_date,
    o.c.approved_at,
    _PICKED.label("picked"),
    o.c.shipped_at,
    o.c.delivered_at,
    o.c.at_risk_since,
    _BACKORDERED.label("backordered"),
    _LINES.label("lines"),
)


def _when(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


class SqlPromiseRiskRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def finished(self, since: datetime, until: datetime) -> list[OrderLife]:
        on_time = ov.c.components["on_time"].as_boolean()
        stmt = (
            select(*_COLUMNS, on_time.label("on_time"))
            .join(ov, ov.c.order_id == o.c.id)
            .where(
                ov.c.placed_on >= since.date(),
                ov.c.placed_on < until.date(),
                ov.c.state == "delivered",
                on_time.is_not(None),
            )
        )
        # A million orders read in ranges of consecutive ids, bounded on both tables so each is a
        # short index range whatever the planner thinks: as one statement, and then as chunks with
        # a LIMIT, a fresh store's plan outran the 5 s statement timeout.
        delays = self._delays()
        top = self._conn.execute(select(func.max(ov.c.order_id))).scalar_one() or 0
        lives: list[OrderLife] = []
        for low in range(0, top, _CHUNK):
            high = low + _CHUNK
            rows = self._conn.execute(
                stmt.where(ov.c.order_id > low, ov.c.order_id <= high, o.c.id > low, o.c.id <= high)
            ).all()
            lives += self._lives(rows, self._holds(low + 1, high), delays, finished=True)
        return lives

    def open(self) -> list[OrderLife]:
        # The open orders are found by the status index first, then read a few thousand at a time.
        ids = list(
            self._conn.execute(select(o.c.id).where(o.c.status.in_(OPEN_STATUSES)).order_by(o.c.id)).scalars()
        )
        delays = self._delays(select(o.c.id).where(o.c.status.in_(OPEN_STATUSES)))
        stmt = select(*_COLUMNS).outerjoin(ov, ov.c.order_id == o.c.id)
        lives: list[OrderLife] = []
        for start in range(0, len(ids), _OPEN_CHUNK):
            chunk = ids[start : start + _OPEN_CHUNK]
            rows = self._conn.execute(stmt.where(o.c.id.in_(chunk)).order_by(o.c.id)).all()
            lives += self._lives(rows, self._holds(chunk[0], chunk[-1]), delays, finished=False)
        return lives

    def _lives(
        self,
        rows: Sequence[Any],
        holds: Mapping[int, list[tuple[datetime, datetime | None]]],
        delays: Mapping[int, datetime],
        *,
        finished: bool,
    ) -> list[OrderLife]:
        return [
            OrderLife(
                order_id=row.id,
                lane=f"{row.shipping_service} {row.ship_country}",
                placed_at=row.placed_at,
                deadline=end_of_day(row.promised_date),
                approved_at=row.approved_at,
                picked_at=_when(row.picked),
                shipped_at=row.shipped_at,
                delivered_at=row.delivered_at,
                holds=tuple(holds.get(row.id, ())),
                backordered=bool(row.backordered),
                lines=int(row.lines or 1),
                flagged_at=row.at_risk_since,
                carrier_delay_at=delays.get(row.id),
                late=(not row.on_time) if finished else None,
            )
            for row in rows
        ]

    def _holds(self, first: int, last: int) -> dict[int, list[tuple[datetime, datetime | None]]]:
        h = t.order_holds
        holds: dict[int, list[tuple[datetime, datetime | None]]] = defaultdict(list)
        for row in self._conn.execute(
            select(h.c.order_id, h.c.placed_at, h.c.released_at)
            .where(h.c.order_id.between(first, last))
            .order_by(h.c.order_id, h.c.placed_at)
        ):
            holds[row.order_id].append((row.placed_at, row.released_at))
        return holds

    def _delays(self, of_orders: Any = None) -> dict[int, datetime]:
        """Each order's first carrier delay: one read of the delay events (a few in a hundred
        parcels), not one per chunk (each chunk scanned every event again)."""
        s, e = t.shipments, t.carrier_events
        stmt = (
            select(s.c.order_id, func.min(e.c.occurred_at).label("first"))
            .join(s, s.c.id == e.c.shipment_id)
            .where(e.c.type == "delayed")
            .group_by(s.c.order_id)
        )
        if of_orders is not None:
            stmt = stmt.where(s.c.order_id.in_(of_orders))
        return {row.order_id: row.first for row in self._conn.execute(stmt)}

    def backlog(self, now: datetime) -> tuple[int, int]:
        waiting = self._conn.execute(
            select(func.count()).where(
                o.c.status.in_(("approved", "picking", "picked", "packed")), o.c.approved_at <= now
            )
        ).scalar_one()
        shipped = self._conn.execute(
            select(func.count()).where(and_(o.c.shipped_at > now - timedelta(days=7), o.c.shipped_at <= now))
        ).scalar_one()
        return int(waiting), int(shipped)

    def save_model(self, model: RiskModel, *, snapshots: int) -> None:
        self._conn.execute(
            insert(t.risk_models).values(
                trained_at=model.trained_at, snapshots=snapshots, model=_model_json(model)
            )
        )
        # Only the latest is ever read; the one before stays for comparison.
        keep = select(t.risk_models.c.id).order_by(t.risk_models.c.id.desc()).limit(2).scalar_subquery()
        self._conn.execute(delete(t.risk_models).where(t.risk_models.c.id.not_in(keep)))

    def model(self) -> RiskModel | None:
        data = self._conn.execute(
            select(t.risk_models.c.model).order_by(t.risk_models.c.id.desc()).limit(1)
        ).scalar_one_or_none()
        return _model(data) if data is not None else None

    def replace_scores(self, scores: Sequence[RiskScore], *, at: datetime) -> None:
        # Written over, not deleted and inserted: two workers scoring at once would otherwise
        # insert the same order twice (the second's delete cannot see the first's new rows).
        self._conn.execute(delete(r).where(r.c.scored_at < at))
        if not scores:
            return
        stmt = upsert(self._conn, r)
        stmt = stmt.on_conflict_do_update(
            index_elements=[r.c.order_id],
            set_={name: stmt.excluded[name] for name in _SCORE_COLUMNS if name != "order_id"},
        )
        for start in range(0, len(scores), _BATCH):
            self._conn.execute(stmt, [_score_row(s, at) for s in scores[start : start + _BATCH]])

    def scores(self, order_ids: Sequence[int]) -> Mapping[int, StoredScore]:
        if not order_ids:
            return {}
        rows = self._conn.execute(select(r).where(r.c.order_id.in_(list(order_ids))))
        return {row.order_id: _stored(row) for row in rows}

    def riskiest(self, limit: int) -> list[StoredScore]:
        # A score outlives its order's closing until the next scoring: closed orders are left out.
        stmt = (
            select(r)
            .join(o, o.c.id == r.c.order_id)
            .where(o.c.status.in_(OPEN_STATUSES))
            .order_by(r.c.probability.desc(), r.c.order_id.desc())
            .limit(limit)
        )
        return [_stored(row) for row in self._conn.execute(stmt)]


_SCORE_COLUMNS = ("order_id", "probability", "rule_flag", "stage", "action", "reasons", "scored_at")
_BATCH = 5000
_CHUNK = 20_000
_OPEN_CHUNK = 5_000


def _score_row(s: RiskScore, at: datetime) -> dict[str, Any]:
    return {
        "order_id": s.order_id,
        "probability": s.probability,
        "rule_flag": s.rule_flag,
        "stage": s.stage,
        "action": s.action,
        "reasons": [[x.feature, x.weight, x.text] for x in s.reasons],
        "scored_at": at,
    }


def _stored(row: Any) -> StoredScore:
    return StoredScore(
        row.order_id,
        row.probability,
        row.rule_flag,
        row.stage,
        row.action,
        tuple((f, float(w), words) for f, w, words in row.reasons),
        row.scored_at,
    )


def _model_json(m: RiskModel) -> dict[str, Any]:
    rhythm = m.rhythm
    return {
        "intercept": m.intercept,
        "weights": list(m.weights),
        "means": list(m.means),
        "scales": list(m.scales),
        "trained_at": m.trained_at.isoformat(),
        "orders": m.orders,
        "base_rate": m.base_rate,
        "rule_rates": list(m.rule_rates),
        "quality": dict(m.quality),
        "rhythm": {
            "stage_p50_hours": dict(rhythm.stage_p50_hours),
            "stage_p90_hours": dict(rhythm.stage_p90_hours),
            "lane_transit_p50_hours": dict(rhythm.lane_transit_p50_hours),
            "lane_late_rate": dict(rhythm.lane_late_rate),
            "late_rate": rhythm.late_rate,
            "transit_p50_hours": rhythm.transit_p50_hours,
        },
    }


def _model(data: Mapping[str, Any]) -> RiskModel:
    rhythm = data["rhythm"]
    return RiskModel(
        intercept=data["intercept"],
        weights=tuple(data["weights"]),
        means=tuple(data["means"]),
        scales=tuple(data["scales"]),
        rhythm=StoreRhythm(**rhythm),
        trained_at=datetime.fromisoformat(data["trained_at"]),
        orders=data["orders"],
        base_rate=data["base_rate"],
        rule_rates=(data["rule_rates"][0], data["rule_rates"][1]),
        quality=data["quality"],
    )
