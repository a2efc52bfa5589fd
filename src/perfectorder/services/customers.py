"""Customers and their history: how often they buy, what they spent, what they still owe."""

from __future__ import annotations

from datetime import datetime

from perfectorder.domain.emails import email_problem
from perfectorder.domain.errors import Conflict, InvalidInput, NotFound
from perfectorder.domain.orders import AddressInput
from perfectorder.domain.promise import terms_problem
from perfectorder.domain.text import check_text
from perfectorder.domain.values import Tier
from perfectorder.domain.verification import invalid_email_message, verify_address
from perfectorder.services.context import ServiceContext, read, run_transaction
from perfectorder.services.ports import CustomerSpec, CustomerTotals, UnitOfWork
from perfectorder.services.views import CustomerHistory, CustomerView


def create_customer(
    ctx: ServiceContext, spec: CustomerSpec, *, address: AddressInput | None = None
) -> CustomerView:
    _check_customer(spec)
    verified_address = verify_address(address, prefix="address") if address is not None else None
    normalized = CustomerSpec(
        email=spec.email.strip().lower(),
        name=spec.name.strip(),
        phone=spec.phone.strip(),
        tier=spec.tier,
        credit_limit=spec.credit_limit,
        payment_terms_days=spec.payment_terms_days,
        on_time_basis=spec.on_time_basis,
        grace_minutes=spec.grace_minutes,
    )

    def work(uow: UnitOfWork) -> CustomerView:
        customer_id = uow.customers.add(normalized, ctx.clock.now())
        if customer_id is None:
            raise Conflict(
                "duplicate_customer", f"a customer with email {normalized.email} exists", field="email"
            )
        if verified_address is not None:
            uow.customers.add_address(customer_id, verified_address, default=True)
        view = uow.customers.get(customer_id)
        assert view is not None
        return view

    return run_transaction(ctx, work)


def _check_customer(spec: CustomerSpec) -> None:
    for name in ("email", "name", "phone", "tier"):
        check_text(getattr(spec, name), name)
    if (why := email_problem(spec.email.strip())) is not None:
        raise InvalidInput("invalid_email", invalid_email_message(why), field="email")
    if not spec.name.strip():
        raise InvalidInput("customer_incomplete", "the customer's name is required", field="name")
    if spec.tier not in {t.value for t in Tier}:
        raise InvalidInput("invalid_tier", f"tier is one of {[t.value for t in Tier]}", field="tier")
    if spec.credit_limit < 0:
        raise InvalidInput("invalid_amount", "a credit limit cannot be negative", field="credit_limit")
    if spec.payment_terms_days < 0:
        raise InvalidInput("invalid_days", "payment terms cannot be negative", field="payment_terms_days")
    if (problem := terms_problem(spec.on_time_basis, spec.grace_minutes)) is not None:
        raise InvalidInput("invalid_terms", problem[1], field=problem[0])
    if spec.grace_minutes is not None and spec.on_time_basis is None:
        raise InvalidInput(
            "invalid_terms",
            "grace applies to an on-time basis: give on_time_basis too",
            field="grace_minutes",
        )


def get_customer(ctx: ServiceContext, customer_id: int) -> CustomerView:
    found = read(ctx, lambda uow: uow.customers.get(customer_id))
    if found is None:
        raise NotFound("customer_not_found", f"no customer has id {customer_id}")
    return found


def list_customers(
    ctx: ServiceContext, *, email: str | None, after_id: int | None, limit: int
) -> list[CustomerView]:
    return read(ctx, lambda uow: uow.customers.page(email=email, after_id=after_id, limit=limit))


def customer_history(ctx: ServiceContext, customer_id: int) -> CustomerHistory:
    def work(uow: UnitOfWork) -> CustomerHistory:
        customer = uow.customers.get(customer_id)
        if customer is None:
            raise NotFound("customer_not_found", f"no customer has id {customer_id}")
        totals = uow.customers.totals(customer_id)
        return CustomerHistory(
            customer=customer,
            orders_count=totals.orders_count,
            cancelled_count=totals.cancelled_count,
            total_spent=totals.total_spent,
            open_balance=uow.customers.open_balance(customer_id),
            first_order_at=totals.first_order_at,
            last_order_at=totals.last_order_at,
            purchase_frequency_per_30d=purchase_frequency(totals, ctx.clock.now()),
            repeat_customer=totals.orders_count - totals.cancelled_count > 1,
        )

    return read(ctx, work)


def purchase_frequency(totals: CustomerTotals, now: datetime) -> float | None:
    """Orders per 30 days since the first one; a single order says nothing about frequency yet."""
    kept = totals.orders_count - totals.cancelled_count
    if kept < 2 or totals.first_order_at is None:
        return None
    days = max((now - totals.first_order_at).total_seconds() / 86400, 1.0)
    return round(kept / days * 30, 3)
