"""A state machine across place, pick, short pick, pack and ship, cancel, return and receive:
stock never goes negative, and the ledger, the stock rows and the open allocations always agree."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule
from sqlalchemy import func, select

from perfectorder.adapters.clock import SimulatedClock
from perfectorder.adapters.db import tables as t
from perfectorder.bootstrap import Application
from perfectorder.domain.errors import DomainError
from perfectorder.domain.orders import CustomerInput, LineInput, PaymentInput, PlaceOrder
from perfectorder.domain.values import BackorderPolicy, Channel, PaymentMethod
from perfectorder.sample_data import load_sample_store
from perfectorder.services import aftersales, facts, fulfilment, inventory, orders
from perfectorder.services.placing import place_order
from tests.conftest import START, make_application
from tests.stock_checks import (
    assert_ledger_adds_up,
    assert_no_negative_or_overreserved_stock,
    assert_reservations_belong_to_open_allocations,
)

SKUS = ["MUG-CERAMIC-BLUE", "KETTLE-STEEL-17", "BULB-LED-E27"]


class FulfilmentMachine(RuleBasedStateMachine):
    application: Application
    placed = Bundle("placed")

    def __init__(self) -> None:
        super().__init__()
        self.ctx = self.application.services
        self.counter = 0

    def _try(self, action) -> object:
        try:
            return action()
        except DomainError as refused:
            # Refusals are fine (a wrong state, no stock); what matters is that they change nothing.
            assert refused.code, refused
            return None

    @rule(
        target=placed,
        wanted=st.dictionaries(st.sampled_from(SKUS), st.integers(1, 40), min_size=1, max_size=2),
        backorder=st.booleans(),
    )
    def place(self, wanted: dict[str, int], backorder: bool) -> int:
        self.counter += 1
        command = PlaceOrder(
            channel=Channel.WEB,
            external_ref=f"FM-{id(self)}-{self.counter}",
            currency="EUR",
            lines=tuple(LineInput(sku, qty) for sku, qty in wanted.items()),
            customer=CustomerInput(id=1),
            payment=PaymentInput(PaymentMethod.CASH_ON_DELIVERY),
            backorder_policy=BackorderPolicy.ALLOW if backorder else BackorderPolicy.REJECT,
        )
        placed = self._try(lambda: place_order(self.ctx, command))
        return placed.id if placed is not None else -1  # type: ignore[attr-defined]

    @rule(order_id=placed)
    def release(self, order_id: int) -> None:
        if order_id > 0:
            self._try(lambda: fulfilment.release_to_picking(self.ctx, order_id))

    # Draws never depend on the database, so hypothesis can replay a sequence exactly.
    @rule(order_id=placed, short=st.booleans(), share=st.integers(0, 99))
    def pick(self, order_id: int, short: bool, share: int) -> None:
        if order_id < 0:
            return
        for task in [x for x in facts.order_facts(self.ctx, order_id).pick_tasks if x.status == "open"]:
            if short:
                found = task.picked_qty + share % (task.quantity - task.picked_qty)
                self._try(
                    lambda task=task, found=found: fulfilment.short_pick(self.ctx, task.id, found=found)
                )
            else:
                self._try(
                    lambda task=task: fulfilment.scan(
                        self.ctx, task.id, code=task.sku, quantity=task.quantity - task.picked_qty
                    )
                )

    @rule(order_id=placed)
    def pack_and_ship(self, order_id: int) -> None:
        if order_id < 0:
            return
        by_warehouse: dict[str, list[tuple[str, int]]] = {}
        for line in facts.order_facts(self.ctx, order_id).order.lines:
            for a in line.allocations:
                if a.status == "picked":
                    by_warehouse.setdefault(a.warehouse, []).append((line.sku, a.quantity))
        if not by_warehouse:
            return
        packed = self._try(
            lambda: fulfilment.pack(
                self.ctx,
                order_id,
                [
                    fulfilment.PackageSpec(tuple(items), Decimal("1.0"), (20, 20, 20), warehouse)
                    for warehouse, items in by_warehouse.items()
                ],
            )
        )
        for package_id in packed or []:  # type: ignore[attr-defined]
            self.counter += 1
            self._try(
                lambda package_id=package_id: fulfilment.ship(
                    self.ctx,
                    order_id,
                    package_id,
                    carrier="DHL",
                    service="standard",
                    tracking_number=f"T-{id(self)}-{self.counter}",
                )
            )

    @rule(order_id=placed, short=st.booleans(), share=st.integers(0, 99))
    def fulfil(self, order_id: int, short: bool, share: int) -> None:
        """The whole warehouse path in one step, so long sequences reach shipping often."""
        self.release(order_id)
        self.pick(order_id, short, share)
        self.pick(order_id, False, 0)
        self.pack_and_ship(order_id)

    @rule(order_id=placed)
    def cancel(self, order_id: int) -> None:
        if order_id > 0:
            self._try(
                lambda: orders.cancel_order(self.ctx, order_id, reason="changed mind", open_return=True)
            )

    @rule(order_id=placed, restock=st.booleans())
    def return_and_receive(self, order_id: int, restock: bool) -> None:
        if order_id < 0:
            return
        lines = [(x.sku, x.shipped_qty) for x in facts.order_facts(self.ctx, order_id).lines if x.shipped_qty]
        rma = self._try(
            lambda: aftersales.open_return(self.ctx, order_id, reason="damaged_in_transit", lines=lines[:1])
        )
        if rma is not None:
            received = [
                aftersales.ReceivedLine(x.sku, x.quantity if restock else 0, 0 if restock else x.quantity)
                for x in rma.lines
            ]  # type: ignore[attr-defined]
            self._try(lambda: aftersales.receive_return(self.ctx, rma.id, lines=received))  # type: ignore[attr-defined]

    @rule(sku=st.sampled_from(SKUS), warehouse=st.sampled_from(["BER", "MAD"]), quantity=st.integers(1, 30))
    def receive(self, sku: str, warehouse: str, quantity: int) -> None:
        inventory.receive_stock(self.ctx, sku=sku, warehouse=warehouse, quantity=quantity, reason="PO")

    @invariant()
    def stock_ledger_and_open_allocations_agree(self) -> None:
        assert_no_negative_or_overreserved_stock(self.application.engine)
        assert_ledger_adds_up(self.application.engine)
        # Units on a pick list are still reserved until picked.
        assert_reservations_belong_to_open_allocations(self.application.engine, ["reserved", "picking"])


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def machine_application(request: pytest.FixtureRequest) -> Iterator[Application]:
    url = request.getfixturevalue(
        "migrated_sqlite_url" if request.param == "sqlite" else "migrated_postgres_url"
    )
    application = make_application(url, SimulatedClock(START))
    load_sample_store(application.services)
    try:
        yield application
    finally:
        application.close()


def test_fulfilment_keeps_stock_and_ledger_consistent(machine_application: Application) -> None:
    FulfilmentMachine.application = machine_application
    FulfilmentMachine.TestCase.settings = settings(
        max_examples=25,
        stateful_step_count=30,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        # Fixed examples: a random run sometimes never short-picks, and then proves too little.
        derandomize=True,
    )
    FulfilmentMachine.TestCase().runTest()
    with machine_application.engine.connect() as conn:

        def count(table, *where):
            return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()

        reached = {
            "shipments": count(t.shipments),
            "returns": count(t.returns),
            "short picks": count(t.pick_tasks, t.pick_tasks.c.status == "short"),
            "cancelled": count(t.orders, t.orders.c.status == "cancelled"),
        }
    # The run must really have walked the cycle, or its invariants prove little.
    assert all(reached.values()), reached
