"""A purchase order's date moves (or it is cancelled): the backorders waiting for it are promised
again from the open orders as they now stand, and each order whose expected date moves later is
marked at risk and its customer told (the delay watch's rules: once, and again only for a later
date, at most once a day). In the transaction of the change itself."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import groupby

from perfectorder.domain.promise import delivery_date, restock_each
from perfectorder.services.delays import mark_at_risk
from perfectorder.services.ports import UnitOfWork


def repromise_backorders(
    uow: UnitOfWork, skus: Sequence[str], *, now: datetime, actor: str, reason: str
) -> list[int]:
    """The orders told of a later date."""
    reference = uow.warehouses.reference()
    calendar = reference.calendar
    told: list[int] = []
    for _, group in groupby(uow.replenishment.waiting_backorders(skus), key=lambda w: w.sku):
        waiting = list(group)
        supply, _ = uow.replenishment.incoming(waiting[0].product_id)
        for w, arrives in zip(waiting, restock_each(supply, [w.units for w in waiting]), strict=True):
            if arrives is None:
                continue  # no open order covers it any more: the catalog's lead time stands
            ship = calendar.add_working_days(max(arrives, now.date()), 1)
            service = reference.services.get(w.service)
            transit = (
                w.transit_days if w.transit_days is not None else (service.transit_days if service else 0)
            )
            expected = delivery_date(ship, transit, calendar)
            if expected > w.expected and mark_at_risk(
                uow, w.order_id, reason=reason, new_date=expected, now=now, actor=actor, only_if_later=True
            ):
                told.append(w.order_id)
    return told
