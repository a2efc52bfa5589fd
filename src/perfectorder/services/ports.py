"""The ports the services need from the outside world. Adapters implement them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from perfectorder.domain.catalog import Product, ShippingService, Warehouse
from perfectorder.domain.order import Order
from perfectorder.domain.promise import OnTimeTerms, WorkCalendar
from perfectorder.domain.transit import Lane, LaneTransit
from perfectorder.domain.values import Address
from perfectorder.domain.verification import KnownCustomer
from perfectorder.services.fulfilment_ports import FulfilmentRepository
from perfectorder.services.outbox_ports import OutboxRepository

if TYPE_CHECKING:  # history_ports builds on this module's records
    from perfectorder.services.board_ports import BoardQueries
    from perfectorder.services.history_ports import HistoryRepository
    from perfectorder.services.lost_demand_ports import LostDemandRepository
    from perfectorder.services.loyalty_ports import LoyaltyRepository
    from perfectorder.services.promise_risk_ports import PromiseRiskRepository
    from perfectorder.services.purchasing_ports import PurchasingRepository
    from perfectorder.services.replenishment_ports import ReplenishmentReads
    from perfectorder.services.transit_ports import TransitRepository
    from perfectorder.services.verdict_ports import VerdictRepository
from perfectorder.services.views import (
    ADDRESS_FIELDS,
    CustomerView,
    EventView,
    MovementView,
    OrderSummary,
    OrderView,
    PaymentRecord,
    ProductView,
    ShippingServiceView,
    StockView,
    WarehouseView,
)


class Clock(Protocol):
    def now(self) -> datetime: ...


class TransientConflict(Exception):
    """The transaction lost a race (deadlock, serialization failure, stock moved): run it again."""


# --- records the services write -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProductSpec:
    sku: str
    name: str
    price: Decimal
    currency: str
    category: str = ""
    weight_kg: Decimal = Decimal(0)
    unit_cost: Decimal | None = None
    active: bool = True
    fulfilment: str = "made_to_stock"
    production_days: int = 0
    lead_time_days: int = 14


@dataclass(frozen=True, slots=True)
class WarehouseSpec:
    code: str
    name: str
    timezone: str = "UTC"
    handling_days: int = 1
    cutoff: str = "14:00"
    priority: int = 100
    daily_capacity: int | None = None


@dataclass(frozen=True, slots=True)
class CustomerSpec:
    email: str
    name: str
    phone: str = ""
    tier: str = "standard"
    credit_limit: Decimal = Decimal(0)
    payment_terms_days: int = 0
    # Delivery terms: how this customer's orders are judged on time (None: their channel's).
    on_time_basis: str | None = None
    grace_minutes: int | None = None


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    known: KnownCustomer
    credit_limit: Decimal
    terms: OnTimeTerms | None = None  # the customer's own on-time terms


@dataclass(frozen=True, slots=True)
class Movement:
    product_id: int
    warehouse_id: int
    movement: str
    on_hand_delta: int
    reserved_delta: int
    reason: str
    actor: str
    created_at: datetime
    order_id: int | None = None
    purchase_order_id: int | None = None


@dataclass(frozen=True, slots=True)
class NewOrder:
    channel: str
    external_ref: str
    customer_id: int
    status: str
    currency: str
    total: Decimal
    address: Address
    shipping_service: str
    backorder_policy: str
    requested_delivery_date: date | None
    promised_ship_date: date
    promised_date: date
    payment_method: str | None
    payment_status: str | None
    payment_authorized: Decimal | None
    payment_reference: str | None
    note: str
    placed_at: datetime
    approved_at: datetime | None
    # The promise's time and window, and the on-time terms it is judged by (fixed at placing).
    promised_by: datetime | None = None
    promised_from: datetime | None = None
    on_time_basis: str = "date"
    grace_minutes: int = 0
    transit_days: int | None = None
    transit_basis: str | None = None

    def columns(self) -> dict[str, Any]:
        """The order's stored columns: what the repository inserts, and what `order_view` reads."""
        values = {f: getattr(self, f) for f in self.__slots__ if f != "address"}
        values.update({f"ship_{f}": getattr(self.address, f, "") for f in ADDRESS_FIELDS})
        values["updated_at"] = self.placed_at
        return values


@dataclass(frozen=True, slots=True)
class NewLine:
    line_no: int
    product_id: int
    sku: str
    quantity: int
    unit_price: Decimal
    backordered_qty: int


@dataclass(frozen=True, slots=True)
class NewAllocation:
    order_line_id: int
    product_id: int
    warehouse_id: int
    quantity: int
    reserves_stock: bool
    planned_ship_date: date
    books_capacity: bool = True


@dataclass(frozen=True, slots=True)
class NewHold:
    reason: str
    note: str
    placed_at: datetime
    placed_by: str


@dataclass(frozen=True, slots=True)
class NewEvent:
    type: str
    occurred_at: datetime
    actor: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OrderState:
    id: int
    status: str
    channel: str
    customer_id: int
    promised_date: date
    rescheduled_date: date | None
    told_date: date | None = None  # the expected date last told in a delay notice
    told_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class OrderFilter:
    status: str | None = None
    channel: str | None = None
    customer_id: int | None = None
    placed_from: datetime | None = None
    placed_to: datetime | None = None


@dataclass(frozen=True, slots=True)
class StoredResponse:
    fingerprint: str
    status_code: int
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CustomerTotals:
    orders_count: int
    cancelled_count: int
    total_spent: dict[str, Decimal]
    first_order_at: datetime | None
    last_order_at: datetime | None


@dataclass(frozen=True, slots=True)
class ReferenceData:
    """Slow-changing set-up every capture reads; adapters may cache it."""

    warehouses: tuple[Warehouse, ...]
    services: Mapping[str, ShippingService]
    calendar: WorkCalendar
    lanes: Mapping[Lane, LaneTransit] = field(default_factory=dict)  # learned transit times


# --- repositories ---------------------------------------------------------------------------


class ProductRepository(Protocol):
    def add(self, spec: ProductSpec, created_at: datetime) -> ProductView | None: ...
    def for_order(self, skus: Sequence[str]) -> dict[str, Product]: ...
    def get(self, sku: str) -> ProductView | None: ...
    def page(self, *, after_id: int | None, limit: int) -> list[ProductView]: ...


class WarehouseRepository(Protocol):
    def add(self, spec: WarehouseSpec) -> WarehouseView | None: ...
    def all(self) -> list[WarehouseView]: ...
    def add_shipping_service(self, view: ShippingServiceView) -> bool: ...
    def shipping_services(self) -> list[ShippingServiceView]: ...
    def add_holiday(self, day: date, name: str) -> bool: ...
    def reference(self) -> ReferenceData: ...


@dataclass(frozen=True, slots=True)
class InventoryFlow:
    """Units and value (at unit cost, else price) that left by picking in a period, and what was
    on hand at its start, its end and now."""

    units_out: int
    value_out: Decimal
    units_start: int
    value_start: Decimal
    units_end: int
    value_end: Decimal
    units_now: int


class StockRepository(Protocol):
    def flow(self, start: datetime, end: datetime) -> InventoryFlow: ...
    def available(self, product_ids: Sequence[int]) -> dict[tuple[int, int], int]: ...
    def reserve(self, product_id: int, warehouse_id: int, quantity: int) -> bool: ...
    def release(self, product_id: int, warehouse_id: int, quantity: int) -> bool: ...
    def take_reserved(self, product_id: int, warehouse_id: int, quantity: int) -> bool: ...
    def receive(self, product_id: int, warehouse_id: int, quantity: int) -> None: ...
    def adjust(self, product_id: int, warehouse_id: int, delta: int) -> bool: ...
    def level(self, product_id: int, warehouse_id: int) -> StockView | None: ...
    def levels(self, *, sku: str | None, warehouse: str | None, limit: int) -> list[StockView]: ...
    def record(self, movements: Sequence[Movement]) -> None: ...
    def movements(
        self, *, sku: str | None, warehouse: str | None, after_id: int | None, limit: int
    ) -> list[MovementView]: ...
    def book_capacity(self, warehouse_id: int, day: date, capacity: int) -> bool: ...
    def unbook_capacity(self, warehouse_id: int, day: date, quantity: int) -> None: ...


class CustomerRepository(Protocol):
    def for_order(self, *, customer_id: int | None, email: str | None) -> CustomerRecord | None: ...
    def add(self, spec: CustomerSpec, created_at: datetime) -> int | None: ...
    def add_address(self, customer_id: int, address: Address, *, default: bool) -> None: ...
    def get(self, customer_id: int) -> CustomerView | None: ...
    def contacts(self, customer_ids: Sequence[int]) -> Mapping[int, tuple[str, str]]:
        """(name, e-mail) of each customer that exists of these."""
        ...

    def page(self, *, email: str | None, after_id: int | None, limit: int) -> list[CustomerView]: ...
    def totals(self, customer_id: int) -> CustomerTotals: ...
    def open_balance(self, customer_id: int) -> Decimal: ...
    def lock(self, customer_id: int) -> None: ...
    def ordered_through(self, customer_id: int, channel: str) -> bool:
        """Whether the customer has ever ordered through this channel: the channel's own customer."""
        ...

    def credit_held_orders(self, customer_id: int) -> list[int]: ...


class PaymentRepository(Protocol):
    def for_order(self, order_id: int) -> list[PaymentRecord]: ...
    def for_customer(self, customer_id: int, *, limit: int) -> list[PaymentRecord]: ...


class OrderRepository(Protocol):
    def add(self, order: NewOrder) -> int | None: ...
    def add_lines(self, order_id: int, lines: Sequence[NewLine]) -> list[int]: ...
    def add_allocations(self, order_id: int, allocations: Sequence[NewAllocation]) -> None: ...
    def add_holds(self, order_id: int, holds: Sequence[NewHold]) -> list[int]: ...
    def add_events(self, order_id: int, events: Sequence[NewEvent]) -> None: ...
    def get(self, order_id: int) -> OrderView | None: ...
    def get_many(self, order_ids: Sequence[int]) -> Mapping[int, OrderView]:
        """The orders that exist of these, read together."""
        ...

    def load(self, order_id: int) -> Order | None:
        """The whole order (the aggregate), locked for the rest of the transaction."""
        ...

    def save(self, order: Order, *, at: datetime, by: str) -> list[int]:
        """Writes what the order's methods changed, guarded; returns the ids of new holds."""
        ...

    def state(self, order_id: int, *, lock: bool = False) -> OrderState | None: ...
    def owners(self, order_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Each order's tenant: {"channel": ..., "customer_id": ...}, as Principal.sees takes them."""
        ...

    def transition(
        self, order_id: int, *, expected: str, target: str, changes: Mapping[str, Any]
    ) -> bool: ...
    def mark_at_risk(self, order_id: int, *, at: datetime, reason: str) -> bool: ...
    def unshipped_past_ship_date(self, today: date, statuses: Sequence[str]) -> list[tuple[int, str]]: ...
    def overdue_in_transit(self, today: date, statuses: Sequence[str]) -> list[int]: ...
    def told(self, order_id: int, *, expected: date, at: datetime) -> None: ...
    def untold_slips(self, *, told_before: datetime, statuses: Sequence[str]) -> list[int]: ...
    def page(self, flt: OrderFilter, *, before_id: int | None, limit: int) -> list[OrderSummary]: ...
    def timeline(self, order_id: int) -> list[EventView]: ...


class IdempotencyRepository(Protocol):
    def get(self, scope: str, key: str) -> StoredResponse | None: ...
    def claim(self, scope: str, key: str, fingerprint: str, created_at: datetime) -> bool: ...
    def finish(self, scope: str, key: str, status_code: int, body: dict[str, Any]) -> None: ...


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    id: int
    name: str
    prefix: str
    secret_hash: str
    role: str
    channel: str | None
    customer_id: int | None
    created_at: datetime
    created_by: str
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    username: str
    password_hash: str
    role: str
    failed_logins: int
    locked_until: datetime | None
    disabled_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SessionRecord:
    user: UserRecord
    csrf_token: str
    expires_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    occurred_at: datetime
    actor: str
    role: str | None
    method: str
    path: str
    status_code: int
    client: str
    outcome: str
    detail: str | None = None  # e.g. the username a login tried


@dataclass(frozen=True, slots=True)
class LoginFailure:
    client: str
    failed_at: datetime


@dataclass(frozen=True, slots=True)
class Amendment:
    """The answer a call finally got, when it differs from what its committed audit row says."""

    row_id: int
    status_code: int
    outcome: str


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: int
    entry: AuditEntry


class AccessRepository(Protocol):
    def add_key(self, record: ApiKeyRecord) -> int: ...
    def key_by_prefix(self, prefix: str) -> ApiKeyRecord | None: ...
    def keys(self) -> list[ApiKeyRecord]: ...
    def revoke_key(self, key_id: int, at: datetime) -> bool: ...
    def add_user(self, username: str, password_hash: str, role: str, created_at: datetime) -> int | None: ...
    def user_by_name(self, username: str) -> UserRecord | None: ...
    def users(self) -> list[UserRecord]: ...
    def set_user_disabled(self, user_id: int, at: datetime | None) -> None: ...
    def set_password(self, user_id: int, password_hash: str) -> None: ...
    def end_user_sessions(self, user_id: int, at: datetime) -> int: ...
    def add_login_failure(self, username: str, client: str, at: datetime) -> None: ...
    def login_failures(self, username: str, *, since: datetime) -> list[LoginFailure]: ...
    def clear_login_failures(self, username: str, *, client: str | None = None) -> int: ...
    def forget_login_failures(self, *, before: datetime) -> None: ...
    def add_login_audit(self, entry: AuditEntry) -> None: ...
    def add_session(
        self, token_hash: str, user_id: int, csrf_token: str, created_at: datetime, expires_at: datetime
    ) -> None: ...
    def session(self, token_hash: str) -> SessionRecord | None: ...
    def end_session(self, token_hash: str, at: datetime) -> None: ...
    def add_audit(self, entry: AuditEntry) -> None: ...
    def audit(self, *, before_id: int | None, limit: int) -> list[AuditRecord]: ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...
    def verify(self, password_hash: str, password: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class JobProgress:
    """How far a long job is, as it last said (times are real time, even for a simulation)."""

    name: str
    done: int
    total: int
    unit: str
    detail: str
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None


class JobRepository(Protocol):
    def save(self, progress: JobProgress) -> None: ...
    def unfinished(self) -> list[JobProgress]: ...


class SecretRepository(Protocol):
    def secret(self, name: str) -> str | None: ...
    def replace_secret(self, name: str, secret: str, *, at: datetime) -> None: ...


class StorageRepository(Protocol):
    def partition_plan(self, now: datetime) -> list[tuple[str, date]]:
        """The monthly partitions to make, as (table, month): this month's and the next ones', and
        those of months with rows that arrived without one. Empty where there are no partitions."""
        ...

    def make_partition(self, table: str, month: date) -> str:
        """Makes one ("made"), or says "exists", "busy" (locks not free: the next round tries
        again) or why it cannot."""
        ...


class UnitOfWork(Protocol):
    @property
    def products(self) -> ProductRepository: ...
    @property
    def warehouses(self) -> WarehouseRepository: ...
    @property
    def stock(self) -> StockRepository: ...
    @property
    def customers(self) -> CustomerRepository: ...
    @property
    def orders(self) -> OrderRepository: ...
    @property
    def payments(self) -> PaymentRepository: ...
    @property
    def idempotency(self) -> IdempotencyRepository: ...
    @property
    def access(self) -> AccessRepository: ...
    @property
    def fulfilment(self) -> FulfilmentRepository: ...
    @property
    def outbox(self) -> OutboxRepository: ...
    @property
    def history(self) -> HistoryRepository: ...
    @property
    def verdicts(self) -> VerdictRepository: ...
    @property
    def loyalty(self) -> LoyaltyRepository: ...
    @property
    def transit(self) -> TransitRepository: ...
    @property
    def promise_risk(self) -> PromiseRiskRepository: ...
    @property
    def lost_demand(self) -> LostDemandRepository: ...
    @property
    def replenishment(self) -> ReplenishmentReads: ...
    @property
    def purchasing(self) -> PurchasingRepository: ...
    @property
    def board(self) -> BoardQueries: ...
    @property
    def jobs(self) -> JobRepository: ...
    @property
    def secrets(self) -> SecretRepository: ...
    @property
    def storage(self) -> StorageRepository: ...

    def __enter__(self) -> UnitOfWork: ...
    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...
    def commit(self) -> None: ...
    def savepoint(self) -> AbstractContextManager[object]:
        """A nested transaction: rolled back alone if its block raises, kept otherwise."""
        ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, read_only: bool = False) -> UnitOfWork: ...
