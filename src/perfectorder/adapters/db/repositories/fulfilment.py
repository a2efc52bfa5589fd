"""Pick lists, packages, shipments, carrier events, claims, issues, feedback and returns."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, case, func, insert, select, update

from perfectorder.adapters.db import tables as t
from perfectorder.adapters.db.engine import PerDialect
from perfectorder.adapters.db.sql import insert_or_nothing
from perfectorder.services.fulfilment_ports import (
    AllocationRecord,
    BackorderedLine,
    ClaimRecord,
    FeedbackRecord,
    IssueRecord,
    LineRecord,
    NewTask,
    PackageRecord,
    ReturnLineRecord,
    ReturnRecord,
    ShipmentRecord,
    TaskRecord,
)

al, ln, o = t.allocations, t.order_lines, t.orders
pl, pt, sh = t.pick_lists, t.pick_tasks, t.shipments
_REFUSED = (
    select(func.count())
    .select_from(t.pick_scans)
    .where((t.pick_scans.c.pick_task_id == pt.c.id) & t.pick_scans.c.outcome.in_(["wrong_item", "over_pick"]))
    .scalar_subquery()
)
TASKS = select(pt, pl.c.warehouse_id, _REFUSED.label("refused_scans")).select_from(
    pt.join(pl, pl.c.id == pt.c.pick_list_id)
)
# The statements of the pick-pack-ship path, built once: building a statement costs more in Python
# than SQLite takes to run it.
_TASK = TASKS.where(pt.c.id == bindparam("task_id"))
_TASKS_OF_LIST = TASKS.where(pt.c.pick_list_id == bindparam("pick_list_id")).order_by(
    pt.c.bin_location, pt.c.sku, pt.c.id
)
_ADD_PICK_LIST = insert(pl).returning(pl.c.id)
_TASKS_OF_ORDER = TASKS.where(pt.c.order_id == bindparam("order_id")).order_by(
    pt.c.bin_location, pt.c.sku, pt.c.id
)
_UPDATE_TASK = (
    update(pt)
    .where(pt.c.id == bindparam("task_id"))
    .values(picked_qty=bindparam("new_picked"), status=bindparam("new_status"))
)
_OPEN_TASKS = (
    select(func.count())
    .select_from(pt)
    .where((pt.c.pick_list_id == bindparam("pick_list_id")) & (pt.c.status == "open"))
)
_ADD_SCAN = insert(t.pick_scans)
_ALLOCATIONS = (
    select(al, ln.c.sku)
    .select_from(al.join(ln, ln.c.id == al.c.order_line_id))
    .where(al.c.order_id == bindparam("order_id"))
    .order_by(al.c.id)
)
_SET_ALLOCATION_STATUS = (
    update(al).where(al.c.id.in_(bindparam("ids", expanding=True))).values(status=bindparam("new_status"))
)
_ADD_ALLOCATION = insert(al).returning(al.c.id)
_LINES = select(ln).where(ln.c.order_id == bindparam("order_id")).order_by(ln.c.line_no)
_PACKAGES = select(t.packages).where(t.packages.c.order_id == bindparam("order_id")).order_by(t.packages.c.id)
_PACKAGE_ITEMS = (
    select(t.package_items)
    .join(t.packages, t.packages.c.id == t.package_items.c.package_id)
    .where(t.packages.c.order_id == bindparam("order_id"))
    .order_by(t.package_items.c.id)
)
_SHIPMENTS = select(sh).where(sh.c.order_id == bindparam("order_id")).order_by(sh.c.id)
SHIPMENTS_OF = select(sh).where(sh.c.order_id.in_(bindparam("ids", expanding=True))).order_by(sh.c.id)
_SHIPMENT_BY_TRACKING = select(sh).where(sh.c.tracking_number == bindparam("tracking_number"))
_BINS = select(t.stock.c.product_id, t.stock.c.bin_location).where(
    (t.stock.c.warehouse_id == bindparam("wid")) & t.stock.c.product_id.in_(bindparam("ids", expanding=True))
)
_CLOSE_PICK_LIST = (
    update(pl).where(pl.c.id == bindparam("pick_list_id")).values(status="done", completed_at=bindparam("at"))
)
_SET_SHIPPED = update(ln).where(ln.c.id == bindparam("line_id")).values(shipped_qty=bindparam("qty"))
_ADD_SHIPMENT = PerDialect(lambda conn: insert_or_nothing(conn, sh).returning(sh.c.id))
# Every carrier event passes here: the parcel's first scan and whether it was damaged or lost.
_SCANNED = (
    update(sh)
    .where(sh.c.id == bindparam("sid"))
    .values(
        first_scan_at=case(
            (sh.c.first_scan_at.is_(None) | (sh.c.first_scan_at > bindparam("at")), bindparam("at")),
            else_=sh.c.first_scan_at,
        ),
        damaged=sh.c.damaged | bindparam("damaged"),
        lost=sh.c.lost | bindparam("lost"),
    )
)


def fill_destinations(which: Any) -> Any:
    """Copies the orders' destination and promised transit onto their shipments as they ship."""

    def of_order(column: Any) -> Any:
        return select(column).where(o.c.id == sh.c.order_id).scalar_subquery()

    return (
        update(sh)
        .where(which)
        .values(
            ship_country=of_order(o.c.ship_country),
            ship_postal_code=of_order(o.c.ship_postal_code),
            promised_transit=of_order(o.c.transit_days),
        )
    )


_PACKAGE_SHIPPED = (
    update(t.packages).where(t.packages.c.id == bindparam("package_id")).values(status="shipped")
)
_SHIPMENT_STATUS = update(sh).where(sh.c.id == bindparam("sid")).values(status=bindparam("status"))
_SHIPMENT_DELIVERED = _SHIPMENT_STATUS.values(delivered_at=bindparam("at"))
_FEEDBACK = select(t.feedback).where(t.feedback.c.order_id == bindparam("order_id"))
_BACKORDERED = (
    select(ln.c.id, ln.c.order_id, o.c.status, ln.c.backordered_qty)
    .select_from(ln.join(o, o.c.id == ln.c.order_id))
    .where(
        (ln.c.product_id == bindparam("product_id"))
        & (ln.c.backordered_qty > 0)
        & (o.c.status != "cancelled")
    )
    .order_by(o.c.promised_date, o.c.placed_at, ln.c.id)
)


class SqlFulfilmentRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def allocations(self, order_id: int) -> list[AllocationRecord]:
        rows = self._conn.execute(_ALLOCATIONS, {"order_id": order_id})
        return [
            AllocationRecord(
                r.id,
                r.order_id,
                r.order_line_id,
                r.product_id,
                r.warehouse_id,
                r.sku,
                r.quantity,
                r.reserves_stock,
                r.status,
                r.planned_ship_date,
            )
            for r in rows
        ]

    def set_allocation_status(self, allocation_ids: Sequence[int], status: str) -> None:
        if allocation_ids:
            self._conn.execute(_SET_ALLOCATION_STATUS, {"ids": list(allocation_ids), "new_status": status})

    def add_allocation(
        self,
        *,
        order_id: int,
        order_line_id: int,
        product_id: int,
        warehouse_id: int,
        quantity: int,
        planned_ship_date: date,
    ) -> int:
        values = {
            "order_id": order_id,
            "order_line_id": order_line_id,
            "product_id": product_id,
            "warehouse_id": warehouse_id,
            "quantity": quantity,
            "reserves_stock": True,
            "status": "reserved",
            "planned_ship_date": planned_ship_date,
            "books_capacity": False,  # re-sourced: ships on whatever day comes, booked no slot
        }
        allocation_id: int = self._conn.execute(_ADD_ALLOCATION, values).scalar_one()
        return allocation_id

    def bins(self, warehouse_id: int, product_ids: Sequence[int]) -> dict[int, str]:
        rows = self._conn.execute(_BINS, {"wid": warehouse_id, "ids": list(product_ids)})
        return {r.product_id: r.bin_location for r in rows}

    def add_pick_list(self, warehouse_id: int, kind: str, at: datetime, by: str) -> int:
        values = {
            "warehouse_id": warehouse_id,
            "kind": kind,
            "status": "open",
            "created_at": at,
            "created_by": by,
        }
        pick_list_id: int = self._conn.execute(_ADD_PICK_LIST, values).scalar_one()
        return pick_list_id

    def add_tasks(self, pick_list_id: int, tasks: Sequence[NewTask]) -> None:
        if tasks:
            self._conn.execute(
                insert(pt),
                [
                    {
                        "pick_list_id": pick_list_id,
                        "order_id": x.order_id,
                        "allocation_id": x.allocation_id,
                        "product_id": x.product_id,
                        "sku": x.sku,
                        "bin_location": x.bin_location,
                        "quantity": x.quantity,
                        "picked_qty": 0,
                        "status": "open",
                    }
                    for x in tasks
                ],
            )

    def task(self, task_id: int) -> TaskRecord | None:
        row = self._conn.execute(_TASK, {"task_id": task_id}).first()
        return task_record(row) if row is not None else None

    def tasks(self, *, pick_list_id: int | None = None, order_id: int | None = None) -> list[TaskRecord]:
        if pick_list_id is None and order_id is not None:
            return [task_record(r) for r in self._conn.execute(_TASKS_OF_ORDER, {"order_id": order_id})]
        if order_id is None and pick_list_id is not None:
            return [
                task_record(r) for r in self._conn.execute(_TASKS_OF_LIST, {"pick_list_id": pick_list_id})
            ]
        stmt = TASKS.order_by(pt.c.bin_location, pt.c.sku, pt.c.id)
        if pick_list_id is not None:
            stmt = stmt.where(pt.c.pick_list_id == pick_list_id)
        if order_id is not None:
            stmt = stmt.where(pt.c.order_id == order_id)
        return [task_record(r) for r in self._conn.execute(stmt)]

    def update_task(self, task_id: int, *, picked_qty: int, status: str) -> None:
        self._conn.execute(_UPDATE_TASK, {"task_id": task_id, "new_picked": picked_qty, "new_status": status})

    def close_pick_list_if_done(self, pick_list_id: int, at: datetime) -> None:
        open_tasks = self._conn.execute(_OPEN_TASKS, {"pick_list_id": pick_list_id}).scalar_one()
        if open_tasks == 0:
            self._conn.execute(_CLOSE_PICK_LIST, {"pick_list_id": pick_list_id, "at": at})

    def add_scan(
        self, task: TaskRecord, scanned: str, quantity: int, outcome: str, at: datetime, actor: str
    ) -> None:
        self._conn.execute(
            _ADD_SCAN,
            {
                "pick_task_id": task.id,
                "order_id": task.order_id,
                "scanned": scanned[:64],
                "quantity": quantity,
                "outcome": outcome,
                "occurred_at": at,
                "actor": actor[:200],
            },
        )

    def wave_candidates(self, warehouse_id: int, ship_by: date, limit: int) -> list[int]:
        stmt = (
            select(al.c.order_id)
            .select_from(al.join(o, o.c.id == al.c.order_id))
            .where(
                (al.c.warehouse_id == warehouse_id)
                & (al.c.status == "reserved")
                & (al.c.planned_ship_date <= ship_by)
                & o.c.status.in_(["approved", "partially_shipped"])
            )
            .group_by(al.c.order_id)
            .order_by(func.min(o.c.promised_date), al.c.order_id)
            .limit(limit)
        )
        return [r.order_id for r in self._conn.execute(stmt)]

    def lines(self, order_id: int) -> list[LineRecord]:
        return [line_record(r) for r in self._conn.execute(_LINES, {"order_id": order_id})]

    def update_line(self, line_id: int, changes: Mapping[str, Any]) -> None:
        if changes.keys() == {"shipped_qty"}:  # shipping, the one change on the hot path
            self._conn.execute(_SET_SHIPPED, {"line_id": line_id, "qty": changes["shipped_qty"]})
        else:
            self._conn.execute(update(ln).where(ln.c.id == line_id).values(**changes))

    def add_package(
        self,
        *,
        order_id: int,
        warehouse_id: int,
        weight_kg: Decimal,
        dims: tuple[int, int, int],
        items: Sequence[tuple[str, int]],
        at: datetime,
        by: str,
    ) -> int:
        package_id: int = self._conn.execute(
            insert(t.packages)
            .values(
                order_id=order_id,
                warehouse_id=warehouse_id,
                weight_kg=weight_kg,
                length_cm=dims[0],
                width_cm=dims[1],
                height_cm=dims[2],
                status="packed",
                packed_at=at,
                packed_by=by[:200],
            )
            .returning(t.packages.c.id)
        ).scalar_one()
        self._conn.execute(
            insert(t.package_items),
            [{"package_id": package_id, "sku": sku, "quantity": quantity} for sku, quantity in items],
        )
        return package_id

    def packages(self, order_id: int) -> list[PackageRecord]:
        items: dict[int, list[tuple[str, int]]] = defaultdict(list)
        for r in self._conn.execute(_PACKAGE_ITEMS, {"order_id": order_id}):
            items[r.package_id].append((r.sku, r.quantity))
        return [
            package_record(r, tuple(items[r.id]))
            for r in self._conn.execute(_PACKAGES, {"order_id": order_id})
        ]

    def add_shipment(
        self, package: PackageRecord, *, carrier: str, service: str, tracking_number: str, at: datetime
    ) -> int | None:
        row = self._conn.execute(
            _ADD_SHIPMENT(self._conn),
            {
                "order_id": package.order_id,
                "package_id": package.id,
                "warehouse_id": package.warehouse_id,
                "carrier": carrier,
                "service": service,
                "tracking_number": tracking_number,
                "status": "shipped",
                "shipped_at": at,
            },
        ).first()
        if row is None:
            return None
        self._conn.execute(_PACKAGE_SHIPPED, {"package_id": package.id})
        shipment_id: int = row.id
        self._conn.execute(fill_destinations(sh.c.id == shipment_id))
        return shipment_id

    def shipments(self, order_id: int) -> list[ShipmentRecord]:
        return [shipment_record(r) for r in self._conn.execute(_SHIPMENTS, {"order_id": order_id})]

    def shipments_of(self, order_ids: Sequence[int]) -> dict[int, list[ShipmentRecord]]:
        found: dict[int, list[ShipmentRecord]] = defaultdict(list)
        if order_ids:
            for r in self._conn.execute(SHIPMENTS_OF, {"ids": sorted(set(order_ids))}):
                found[r.order_id].append(shipment_record(r))
        return found

    def shipment_by_tracking(self, tracking_number: str) -> ShipmentRecord | None:
        row = self._conn.execute(_SHIPMENT_BY_TRACKING, {"tracking_number": tracking_number}).first()
        return shipment_record(row) if row is not None else None

    def set_shipment_status(self, shipment_id: int, status: str, delivered_at: datetime | None) -> None:
        if delivered_at is None:
            self._conn.execute(_SHIPMENT_STATUS, {"sid": shipment_id, "status": status})
        else:
            self._conn.execute(
                _SHIPMENT_DELIVERED, {"sid": shipment_id, "status": status, "at": delivered_at}
            )

    def add_carrier_event(
        self,
        *,
        carrier: str,
        event_id: str,
        shipment_id: int,
        type: str,
        occurred_at: datetime,
        detail: str,
        received_at: datetime,
        estimated_delivery: date | None = None,
    ) -> bool:
        stmt = (
            insert_or_nothing(self._conn, t.carrier_events)
            .values(
                carrier=carrier,
                event_id=event_id,
                shipment_id=shipment_id,
                type=type,
                occurred_at=occurred_at,
                detail=detail[:500],
                received_at=received_at,
                estimated_delivery=estimated_delivery,
            )
            .returning(t.carrier_events.c.id)
        )
        if self._conn.execute(stmt).first() is None:
            return False  # a repeat of an event already recorded (and already counted below)
        self._conn.execute(
            _SCANNED,
            {"sid": shipment_id, "at": occurred_at, "damaged": type == "damaged", "lost": type == "lost"},
        )
        return True

    def add_claim(self, *, order_id: int, shipment_id: int, kind: str, at: datetime, note: str) -> int:
        claim_id: int = self._conn.execute(
            insert(t.claims)
            .values(
                order_id=order_id,
                shipment_id=shipment_id,
                kind=kind,
                status="open",
                opened_at=at,
                note=note[:500],
            )
            .returning(t.claims.c.id)
        ).scalar_one()
        return claim_id

    def claims(self, order_id: int) -> list[ClaimRecord]:
        c = t.claims
        return [
            claim_record(r)
            for r in self._conn.execute(select(c).where(c.c.order_id == order_id).order_by(c.c.id))
        ]

    def link_replacement(self, claim_id: int, order_id: int) -> bool:
        c = t.claims
        done = self._conn.execute(
            update(c)
            .where(c.c.id == claim_id, c.c.replacement_order_id.is_(None))
            .values(replacement_order_id=order_id, status="reshipped")
        )
        return done.rowcount == 1

    def add_issue(self, order_id: int, issue: IssueRecord) -> None:
        self._conn.execute(
            insert(t.order_issues).values(
                order_id=order_id,
                criterion=issue.criterion,
                stage=issue.stage,
                code=issue.code,
                detail=issue.detail[:500],
                occurred_at=issue.occurred_at,
            )
        )

    def issues(self, order_id: int) -> list[IssueRecord]:
        i = t.order_issues
        return [
            issue_record(r)
            for r in self._conn.execute(select(i).where(i.c.order_id == order_id).order_by(i.c.id))
        ]

    def feedback(self, order_id: int) -> FeedbackRecord | None:
        r = self._conn.execute(_FEEDBACK, {"order_id": order_id}).first()
        return None if r is None else feedback_record(r)

    def save_feedback(self, record: FeedbackRecord, *, new: bool) -> None:
        values = {
            "rating": record.rating,
            "arrived_complete": record.arrived_complete,
            "undamaged": record.undamaged,
            "as_described": record.as_described,
            "comment": record.comment,
            "updated_at": record.updated_at,
        }
        if new:
            self._conn.execute(
                insert(t.feedback).values(order_id=record.order_id, created_at=record.created_at, **values)
            )
        else:
            self._conn.execute(
                update(t.feedback).where(t.feedback.c.order_id == record.order_id).values(**values)
            )

    def add_return(
        self,
        *,
        order_id: int,
        reason: str,
        criterion: str | None,
        stage: str | None,
        note: str,
        at: datetime,
        lines: Sequence[tuple[int, str, int]],
    ) -> int:
        return_id: int = self._conn.execute(
            insert(t.returns)
            .values(
                order_id=order_id,
                reason=reason,
                criterion=criterion,
                stage=stage,
                status="authorized",
                note=note[:1000],
                created_at=at,
            )
            .returning(t.returns.c.id)
        ).scalar_one()
        self._conn.execute(
            insert(t.return_lines),
            [
                {"return_id": return_id, "order_line_id": line_id, "sku": sku, "quantity": qty}
                for line_id, sku, qty in lines
            ],
        )
        return return_id

    def return_(self, return_id: int) -> ReturnRecord | None:
        found = self._returns(t.returns.c.id == return_id)
        return found[0] if found else None

    def returns(self, order_id: int) -> list[ReturnRecord]:
        return self._returns(t.returns.c.order_id == order_id)

    def _returns(self, condition: Any) -> list[ReturnRecord]:
        r, rl = t.returns, t.return_lines
        heads = list(self._conn.execute(select(r).where(condition).order_by(r.c.id)))
        lines: dict[int, list[ReturnLineRecord]] = defaultdict(list)
        if heads:
            for x in self._conn.execute(
                select(rl).where(rl.c.return_id.in_([h.id for h in heads])).order_by(rl.c.id)
            ):
                lines[x.return_id].append(
                    ReturnLineRecord(
                        x.id, x.order_line_id, x.sku, x.quantity, x.restocked_qty, x.scrapped_qty
                    )
                )
        return [
            ReturnRecord(
                h.id,
                h.order_id,
                h.reason,
                h.criterion,
                h.stage,
                h.status,
                h.note,
                h.created_at,
                h.received_at,
                h.refund_amount,
                h.exchange_order_id,
                tuple(lines[h.id]),
            )
            for h in heads
        ]

    def returned_qty(self, order_line_id: int) -> int:
        value = self._conn.execute(
            select(func.coalesce(func.sum(t.return_lines.c.quantity), 0)).where(
                t.return_lines.c.order_line_id == order_line_id
            )
        ).scalar_one()
        return int(value)

    def receive_return_line(self, line_id: int, *, restocked: int, scrapped: int) -> None:
        self._conn.execute(
            update(t.return_lines)
            .where(t.return_lines.c.id == line_id)
            .values(restocked_qty=restocked, scrapped_qty=scrapped)
        )

    def close_return(
        self, return_id: int, *, at: datetime, refund: Decimal, exchange_order_id: int | None
    ) -> None:
        self._conn.execute(
            update(t.returns)
            .where(t.returns.c.id == return_id)
            .values(
                status="received", received_at=at, refund_amount=refund, exchange_order_id=exchange_order_id
            )
        )

    def backordered_lines(self, product_id: int) -> list[BackorderedLine]:
        rows = self._conn.execute(_BACKORDERED, {"product_id": product_id})
        return [BackorderedLine(r.id, r.order_id, r.status, r.backordered_qty) for r in rows]


# Row mappers, shared with the verdicts' batched read (repositories/verdicts.py).


def line_record(r: Any) -> LineRecord:
    return LineRecord(
        r.id,
        r.order_id,
        r.line_no,
        r.product_id,
        r.sku,
        r.quantity,
        r.unit_price,
        r.backordered_qty,
        r.cancelled_qty,
        r.shipped_qty,
    )


def package_record(r: Any, items: tuple[tuple[str, int], ...]) -> PackageRecord:
    return PackageRecord(
        r.id,
        r.order_id,
        r.warehouse_id,
        r.weight_kg,
        r.length_cm,
        r.width_cm,
        r.height_cm,
        r.status,
        r.packed_at,
        items,
    )


def issue_record(r: Any) -> IssueRecord:
    return IssueRecord(r.criterion, r.stage, r.code, r.detail, r.occurred_at)


def feedback_record(r: Any) -> FeedbackRecord:
    return FeedbackRecord(
        r.order_id,
        r.rating,
        r.arrived_complete,
        r.undamaged,
        r.as_described,
        r.comment,
        r.created_at,
        r.updated_at,
    )


def task_record(r: Any) -> TaskRecord:
    return TaskRecord(
        r.id,
        r.pick_list_id,
        r.order_id,
        r.allocation_id,
        r.product_id,
        r.warehouse_id,
        r.sku,
        r.bin_location,
        r.quantity,
        r.picked_qty,
        r.status,
        r.refused_scans,
    )


def claim_record(r: Any) -> ClaimRecord:
    return ClaimRecord(r.id, r.shipment_id, r.kind, r.status, r.opened_at, r.replacement_order_id)


def shipment_record(r: Any) -> ShipmentRecord:
    return ShipmentRecord(
        r.id,
        r.order_id,
        r.package_id,
        r.warehouse_id,
        r.carrier,
        r.service,
        r.tracking_number,
        r.status,
        r.shipped_at,
        r.delivered_at,
    )
