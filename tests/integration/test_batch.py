"""A batch runs many use cases in one transaction (the simulator's hours): each still commits all
or nothing of its own, and nobody sees any of them until the batch commits."""

from __future__ import annotations

import pytest

from perfectorder.domain.errors import DomainError, InvalidInput
from perfectorder.services import inventory
from perfectorder.services.context import batch, run_transaction

SKU, WAREHOUSE = "MUG-CERAMIC-BLUE", "BER"


def on_hand(ctx) -> int:
    [level] = inventory.stock_levels(ctx, sku=SKU, warehouse=WAREHOUSE)
    return level.on_hand


def receive_then_refuse(ctx) -> None:
    def work(_uow) -> None:
        inventory.receive_stock(ctx, sku=SKU, warehouse=WAREHOUSE, quantity=7)
        raise InvalidInput("refused_late", "refused after writing", field="quantity")

    run_transaction(ctx, work)


def test_a_refused_step_leaves_nothing_and_the_others_commit_together(application):
    ctx = application.services
    before = on_hand(ctx)
    with batch(ctx):
        inventory.receive_stock(ctx, sku=SKU, warehouse=WAREHOUSE, quantity=3)
        with pytest.raises(DomainError, match="refused after writing"):
            receive_then_refuse(ctx)
        inventory.receive_stock(ctx, sku=SKU, warehouse=WAREHOUSE, quantity=5)
        assert on_hand(ctx) == before + 8  # the batch reads its own writes
    assert on_hand(ctx) == before + 8
    ledger = inventory.ledger(ctx, sku=SKU, warehouse=WAREHOUSE, after_id=None, limit=200)
    assert [m.on_hand_delta for m in ledger if m.movement == "receipt"][-2:] == [3, 5]


def test_a_batch_that_fails_writes_nothing(application):
    ctx = application.services
    before = on_hand(ctx)
    with pytest.raises(RuntimeError, match="power cut"), batch(ctx):
        inventory.receive_stock(ctx, sku=SKU, warehouse=WAREHOUSE, quantity=3)
        raise RuntimeError("power cut")
    assert on_hand(ctx) == before


def test_batches_do_not_nest(application):
    ctx = application.services
    with batch(ctx), pytest.raises(RuntimeError, match="do not nest"), batch(ctx):
        pass
