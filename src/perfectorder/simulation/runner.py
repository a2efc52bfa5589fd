"""Runs a scenario: customers order, warehouses pick and pack, carriers deliver (or not), customers
answer, all in simulated time and all through the same services the API calls. Nothing is written
behind the services' back; the only simulated parts are the outside world (customers, carriers,
suppliers, mailboxes)."""

from __future__ import annotations

import heapq
import itertools
import random
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from perfectorder.bootstrap import Application
from perfectorder.domain.errors import DomainError, InsufficientStock
from perfectorder.domain.fulfilment import CarrierEventType
from perfectorder.domain.orders import AddressInput, CustomerInput, LineInput, PaymentInput, PlaceOrder
from perfectorder.domain.promise import WorkCalendar
from perfectorder.domain.values import Channel, PaymentMethod, PaymentStatus
from perfectorder.sample_data import HOLIDAYS, WAREHOUSES
from perfectorder.services import (
    aftersales,
    catalog,
    customers,
    delays,
    fulfilment,
    inventory,
    jobs,
    status_page,
    tracking,
    transit,
    verdicts,
)
from perfectorder.services import orders as order_service
from perfectorder.services.aftersales import FeedbackInput
from perfectorder.services.context import batch, read
from perfectorder.services.dispatch import Dispatcher, DispatchPolicy
from perfectorder.services.entry_ports import SettableClock
from perfectorder.services.facts import order_facts, pick_list
from perfectorder.services.fulfilment import PackageSpec
from perfectorder.services.outbox_ports import DeliveryFailed, Email
from perfectorder.services.placing import place_order
from perfectorder.services.ports import CustomerSpec, JobProgress, OrderFilter, ProductSpec
from perfectorder.services.tracking import CarrierEventInput
from perfectorder.services.views import ShippingServiceView
from perfectorder.simulation.scans import in_transit_scans
from perfectorder.simulation.scenario import Scenario
from perfectorder.simulation.suppliers import Delivery, Suppliers, SupplyRecord

CITIES = (
    ("Berlin", "10115", "DE", "Europe/Berlin"),
    ("Hamburg", "20095", "DE", "Europe/Berlin"),
    ("München", "80331", "DE", "Europe/Berlin"),
    ("Köln", "50667", "DE", "Europe/Berlin"),
    ("Wien", "1010", "AT", "Europe/Vienna"),
    ("Madrid", "28001", "ES", "Europe/Madrid"),
)


@dataclass(slots=True)
class Summary:
    days: int = 0
    orders: int = 0
    refused: int = 0
    shipped: int = 0
    delivered: int = 0
    lost: int = 0
    reshipped: int = 0
    returns: int = 0
    returns_received: int = 0
    feedback: int = 0
    judged: int = 0  # verdicts stored while running (live runs judge as they go)
    self_service: int = 0  # cancels, ratings and returns done on the customers' status page
    seconds: float = 0.0
    refused_by_code: dict[str, int] = field(default_factory=dict)
    refused_lines: int = 0  # lines of orders refused for lack of stock: the store's lost demand
    supplied: SupplyRecord = field(default_factory=SupplyRecord)  # what the suppliers did, by line
    # The moment the run stopped short of its scenario's end because the present came first.
    stopped_at: datetime | None = None

    @property
    def orders_per_second(self) -> float:
        return self.orders / self.seconds if self.seconds else 0.0


SEND_DELAY = timedelta(minutes=1)
TAIL_DAYS = 7
BATCH_WINDOW = timedelta(hours=1)
# Sharing the store with a server: a batch holds SQLite's one write lock, so it commits at least
# this often in real time and then pauses briefly for a writer that waits (a login, an API call).
LIVE_WINDOW_SECONDS = 0.25
LIVE_PAUSE_SECONDS = 0.003


@dataclass(frozen=True, slots=True)
class Live:
    """Running while others already use the store (the demo serves the first weeks while the rest
    of the quarter is simulated): the run says how far it is (job progress), judges the orders every
    `judge_every_days` simulated days so reports fill as it goes, calls `on_ready` once the first
    `ready_days` are stored and judged, and leaves other writers their turn. Judging happens on fixed
    simulated days, so the same seed still gives the same store."""

    name: str
    ready_days: int = 14
    judge_every_days: int = 28
    on_ready: Callable[[], None] | None = None
    wall: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


class Mailboxes:
    """The customers' mail servers: they accept everything, except during the scenario's outage."""

    def __init__(self, clock: SettableClock, outage: tuple[datetime, datetime] | None) -> None:
        self.clock = clock
        self.outage = outage
        self.received = 0

    def send(self, email: Email) -> None:
        now = self.clock.now()
        if self.outage is not None and self.outage[0] <= now < self.outage[1]:
            raise DeliveryFailed("mail relay unreachable (simulated outage)")
        self.received += 1


class NoWebhooks:
    def post(self, url: str, secrets: Sequence[str], *, message_id: str, body: bytes) -> None:
        raise DeliveryFailed("the simulated store has no webhook subscribers")


class Simulation:
    def __init__(
        self,
        application: Application,
        clock: SettableClock,
        scenario: Scenario,
        seed: int,
        live: Live | None = None,
    ) -> None:
        self.app = application
        self.live = live
        self.window = ExitStack()
        self.window_opened: datetime | None = None  # simulated hour the open batch belongs to
        self.window_since = 0.0  # real time (perf_counter) the open batch began
        self.paused = 0.0  # real time of the last pause for other writers
        self.started_at = live.wall() if live else datetime.now(UTC)
        self.ctx = application.services
        self.clock = clock
        self.s = scenario
        self.rng = random.Random(seed)
        self.queue: list[tuple[datetime, int, str, Any]] = []
        self.seq = itertools.count()
        self.summary = Summary()
        self.shipped_orders: set[int] = set()
        self.produced_on: dict[int, date] = {}
        self.start = datetime.combine(scenario.start, datetime.min.time(), UTC)
        self.end = self.start + timedelta(days=scenario.days)
        outage = None
        if scenario.outage_day >= 0 and scenario.outage_days > 0:
            begin = self.start + timedelta(days=scenario.outage_day)
            outage = (begin, begin + timedelta(days=scenario.outage_days))
        self.dispatcher = Dispatcher(
            self.ctx,
            Mailboxes(clock, outage),
            NoWebhooks(),
            application.renderer,
            policy=DispatchPolicy(batch=200, base_delay=timedelta(minutes=5)),
            worker="simulator",
        )
        self.skus: list[str] = []
        self.prices: dict[str, Decimal] = {}
        self.weights: list[float] = []
        self.customer_ids: list[int] = []
        self.seen_customers: list[int] = []
        self.replenishing: set[tuple[str, str]] = set()
        self.failed: dict[int, set[str]] = {}  # order id -> what went wrong, for the customer's answer
        self.tracking: dict[str, tuple[int, str]] = {}
        self.warehouse_codes: dict[int, str] = {}
        self.sending = False  # a dispatch is scheduled within the next minute
        self.carrier_of: dict[int, Any] = {}
        self.country_of: dict[int, str] = {}
        self.calendar = WorkCalendar(frozenset(day for day, _ in HOLIDAYS))
        self.first_sku: dict[int, str] = {}
        self.parcels_out: dict[int, int] = {}  # parcels shipped and not yet delivered, per order
        self.customer_of: dict[int, int] = {}
        self.in_transit: set[str] = set()  # tracking numbers neither delivered nor lost
        self.fresh: list[int] = []  # customers who have not ordered yet (when loyalty is simulated)
        self.suppliers: Suppliers | None = None
        if scenario.suppliers:
            self.suppliers = Suppliers(
                self.ctx,
                scenario,
                seed,
                start=self.start,
                now=clock.now,
                schedule=lambda moment, delivery: self.at(moment, "po_delivery", delivery),
            )
            self.summary.supplied = self.suppliers.record

    # -- set-up -------------------------------------------------------------------------------

    def set_up(self) -> None:
        self.clock.set(self.start - timedelta(days=1))
        for w in WAREHOUSES:
            self._quietly(catalog.create_warehouse, self.ctx, w)
        for c in self.s.carriers:
            self._quietly(
                lambda c=c: catalog.create_shipping_service(
                    self.ctx,
                    ShippingServiceView(c.service, c.name, f"{c.name} {c.service}", max(c.transit_days)),
                )
            )
        for day, name in HOLIDAYS:
            self._quietly(catalog.add_holiday, self.ctx, day, name)
        stocked = []
        for n in range(1, self.s.products + 1):
            sku = f"SIM-{n:05d}"
            made_to_order = self.rng.random() < self.s.made_to_order
            price = Decimal(self.rng.randrange(499, 14999)) / 100
            spec = ProductSpec(
                sku=sku,
                name=f"Simulated product {sku[4:]}",
                category=self.s.categories[n % len(self.s.categories)],
                price=price,
                currency="EUR",
                weight_kg=Decimal("0.5"),
                unit_cost=(price * Decimal("0.55")).quantize(Decimal("0.01")),
                fulfilment="made_to_order" if made_to_order else "made_to_stock",
                production_days=self.s.production_days if made_to_order else 0,
            )
            self._quietly(catalog.create_product, self.ctx, spec)
            self.skus.append(sku)
            self.prices[sku] = price
            self.weights.append(1 / n**self.s.zipf)
            if not made_to_order:
                stocked.append(sku)
                for w in WAREHOUSES:
                    inventory.receive_stock(
                        self.ctx,
                        sku=sku,
                        warehouse=w.code,
                        quantity=self.s.initial_stock,
                        reason="opening stock",
                    )
        if self.suppliers is not None:
            self.suppliers.set_up(stocked, self.prices)
        self.warehouse_codes = read(
            self.ctx, lambda uow: {w.id: w.code for w in uow.warehouses.reference().warehouses}
        )
        tiers = list(self.s.tiers)
        for n in range(1, self.s.customers + 1):
            b2b = self.rng.random() < self.s.b2b
            city = CITIES[n % len(CITIES)]
            view = customers.create_customer(
                self.ctx,
                CustomerSpec(
                    email=f"customer{n:06d}.s{self.s.seed}@example.com",
                    name=f"Customer {n}",
                    tier=self.rng.choices(tiers, [self.s.tiers[t] for t in tiers])[0],
                    credit_limit=Decimal(20000) if b2b else Decimal(0),
                    payment_terms_days=30 if b2b else 0,
                ),
                address=AddressInput(
                    name=f"Customer {n}",
                    line1=f"Hauptstraße {n % 200 + 1}",
                    city=city[0],
                    postal_code=city[1],
                    country=city[2],
                    timezone=city[3],
                ),
            )
            self.customer_ids.append(view.id)

    # -- the clock ----------------------------------------------------------------------------

    def at(self, moment: datetime, kind: str, payload: Any = None) -> None:
        heapq.heappush(self.queue, (moment, next(self.seq), kind, payload))

    def run(
        self, progress: Callable[[int, int], None] | None = None, *, until: datetime | None = None
    ) -> Summary:
        started = time.perf_counter()
        with batch(self.ctx):
            self.set_up()
        for d in range(self.s.days):
            day = self.start + timedelta(days=d)
            factor = (
                self.s.peak_factor if 0 <= self.s.peak_day <= d < self.s.peak_day + self.s.peak_days else 1.0
            )
            count = self._poisson(self.s.orders_per_day * factor)
            for moment in sorted(
                day + timedelta(seconds=self.rng.randrange(7 * 3600, 22 * 3600)) for _ in range(count)
            ):
                self.at(moment, "order")
            # Before and after the warehouses' cut-offs, so what was promised for today leaves today.
            self.at(day + timedelta(hours=12), "fulfil")
            self.at(day + timedelta(hours=15, minutes=30), "fulfil")
            self.at(day + self.replenish_at, "replenish")
            self.at(day + timedelta(hours=23), "risk")
            if self.s.learn_promises:
                self.at(day + timedelta(hours=5), "learn")
            for hour in range(0, 24, 2):
                self.at(day + timedelta(hours=hour, minutes=30), "dispatch")
        # The warehouses keep working after the last order is placed until what was placed has left:
        # the last orders otherwise stayed unshipped, and read as late on the board, for good.
        for d in range(self.s.days, self.s.days + TAIL_DAYS):
            day = self.start + timedelta(days=d)
            self.at(day + timedelta(hours=12), "fulfil")
            self.at(day + timedelta(hours=15, minutes=30), "fulfil")
            self.at(day + self.replenish_at, "replenish")
        if self.live is not None:
            for d in range(1, self.s.days + 1):
                # Midnight, before anything else of the next day happens.
                self.at(self.start + timedelta(days=d), "checkpoint", d)
        # An error leaves through the open batch, which then rolls back instead of committing.
        with self.window:
            while self.queue:
                moment, _, kind, payload = heapq.heappop(self.queue)
                elapsed_days = (moment - self.start).days + 1
                if moment >= self.end and kind == "order":
                    continue
                if moment >= self.end + timedelta(days=30):
                    break
                if until is not None and moment > until:
                    # A store cannot hold what has not happened yet: parcels still on their way
                    # today stay on their way, as in a real store.
                    self.summary.stopped_at = until
                    break
                if kind == "checkpoint":
                    self._close_window()
                    self.clock.set(moment)
                    self._checkpoint(payload)
                    continue
                if self.window_opened is None or moment - self.window_opened >= BATCH_WINDOW:
                    # The store's work of a simulated hour commits together (each step still all or
                    # nothing): a transaction per step cost about an eighth of the run.
                    self._close_window()
                    self._open_window(moment.replace(minute=0, second=0, microsecond=0))
                self.clock.set(moment)
                getattr(self, f"_{kind}")(payload)
                if kind not in ("dispatch", "send"):
                    self._send_soon()
                self._breathe()
                if self.summary.days < elapsed_days <= self.s.days:
                    self.summary.days = elapsed_days
                    if progress is not None:
                        progress(elapsed_days, self.summary.orders)
            self._dispatch(None)
        self.window_opened = None
        self.summary.seconds = time.perf_counter() - started
        return self.summary

    # -- batches and checkpoints ---------------------------------------------------------------

    def _open_window(self, hour: datetime) -> None:
        self.window.enter_context(batch(self.ctx))
        self.window_opened = hour
        self.window_since = time.perf_counter()

    def _close_window(self) -> None:
        if self.window_opened is None:
            return
        self.window.close()
        self.window_opened = None
        if self.live is not None and time.perf_counter() - self.paused > LIVE_WINDOW_SECONDS:
            # A pause per quarter second is enough for a waiting writer, who asks every half
            # millisecond; one after every quiet simulated hour's commit cost seconds per quarter.
            time.sleep(LIVE_PAUSE_SECONDS)
            self.paused = time.perf_counter()

    def _breathe(self) -> None:
        """Commits the open batch early when others share the store and it has held the lock long
        enough; the next step opens a new one for the same simulated hour."""
        if (
            self.live is not None
            and self.window_opened is not None
            and time.perf_counter() - self.window_since > LIVE_WINDOW_SECONDS
        ):
            hour = self.window_opened
            self._close_window()
            self._open_window(hour)

    def _checkpoint(self, day: int) -> None:
        live = self.live
        assert live is not None
        if day % live.judge_every_days == 0 or day == live.ready_days:
            self.summary.judged += verdicts.refresh(self.ctx)
        simulated = (self.start + timedelta(days=day - 1)).date()
        self.report_progress(day, f"{self.summary.orders:,} orders placed, simulated to {simulated:%d %b %Y}")
        if day == live.ready_days and live.on_ready is not None:
            live.on_ready()

    def report_progress(self, day: int, detail: str, *, finished: bool = False) -> None:
        if self.live is None:
            return
        now = self.live.wall()
        jobs.report(
            self.ctx,
            JobProgress(
                self.live.name,
                day,
                self.s.days,
                "days",
                detail,
                started_at=self.started_at,
                updated_at=now,
                finished_at=now if finished else None,
            ),
        )

    # -- what happens --------------------------------------------------------------------------

    def _order(self, returning: int | None) -> None:
        if returning is not None:
            customer = returning  # back because of how the last order went (`_come_back`)
        elif self.s.next_order > 0:
            if not self.fresh and not self.seen_customers:
                self.fresh = self.rng.sample(self.customer_ids, len(self.customer_ids))
            customer = self.fresh.pop() if self.fresh else self.rng.choice(self.customer_ids)
        elif self.seen_customers and self.rng.random() < self.s.repeat:
            customer = self.rng.choice(self.seen_customers)
        else:
            customer = self.rng.choice(self.customer_ids)
        channels = list(self.s.channels)
        channel = self.rng.choices(channels, [self.s.channels[c] for c in channels])[0]
        skus = sorted(set(self.rng.choices(self.skus, self.weights, k=self.rng.choice((1, 1, 1, 2, 2, 3)))))
        carrier = self.rng.choices(self.s.carriers, [c.share for c in self.s.carriers])[0]
        declined = self.rng.random() < self.s.payment_decline
        city = CITIES[customer % len(CITIES)]
        lines = tuple(LineInput(sku, self.rng.choice((1, 1, 1, 2, 3))) for sku in skus)
        total = sum((self.prices[x.sku] * x.quantity for x in lines), Decimal(0))
        command = PlaceOrder(
            channel=Channel(channel),
            external_ref=f"SIM{self.s.seed}-{next(self.seq):08d}",
            currency="EUR",
            lines=lines,
            customer=CustomerInput(id=customer),
            shipping_address=AddressInput(
                name=f"Customer {customer}",
                line1="Hauptstraße 1",
                city=city[0],
                postal_code=city[1],
                country=city[2],
                timezone=city[3],
            ),
            payment=PaymentInput(
                PaymentMethod.CARD, PaymentStatus.DECLINED if declined else PaymentStatus.AUTHORIZED, total
            ),
            shipping_service=carrier.service,
        )
        try:
            view = place_order(self.ctx, command)
        except DomainError as e:
            self.summary.refused += 1
            self.summary.refused_by_code[e.code] = self.summary.refused_by_code.get(e.code, 0) + 1
            if isinstance(e, InsufficientStock):
                self.summary.refused_lines += len(e.lost)
            return
        self.summary.orders += 1
        self.seen_customers.append(customer)
        self.customer_of[view.id] = customer
        # What the outside world knows of its own order: no need to ask the store again later.
        self.carrier_of[view.id] = carrier
        self.country_of[view.id] = city[2]
        self.first_sku[view.id] = view.lines[0].sku
        # Made-to-order units exist once the workshop has made them: on the allocation's planned
        # ship date, not the moment the order arrives (they once shipped hours after ordering).
        made = [a.planned_ship_date for x in view.lines for a in x.allocations if not a.reserves_stock]
        if made:
            self.produced_on[view.id] = max(made)
        if self.s.self_cancel > 0 and self.rng.random() < self.s.self_cancel:
            # Changed their mind: the link in the confirmation, an hour or three later.
            self.at(self.clock.now() + timedelta(minutes=self.rng.randrange(30, 180)), "self_cancel", view.id)
        if view.status == "on_hold":
            # A declined card: the customer never pays, and the order is cancelled after two days.
            self.at(self.clock.now() + timedelta(days=2), "cancel", view.id)

    def _link(self, order_id: int) -> str:
        return status_page.link_path(self.ctx, order_id).removeprefix("/status/")

    def _on_status_page(self) -> bool:
        return self.s.self_service > 0 and self.rng.random() < self.s.self_service

    def _self_cancel(self, order_id: int) -> None:
        if self._quietly(
            lambda: status_page.cancel(self.ctx, self._link(order_id), reason="changed my mind")
        ):
            self.summary.self_service += 1

    def _cancel(self, order_id: int) -> None:
        self._quietly(lambda: order_service.cancel_order(self.ctx, order_id, reason="payment never arrived"))

    def _fulfil(self, _: Any) -> None:
        released = 0
        capacity = self.s.pick_capacity * len(WAREHOUSES)
        before: int | None = None
        while released < capacity:
            cursor = None if before is None else order_service.encode_cursor(before)
            found = order_service.list_orders(
                self.ctx, OrderFilter(status="approved"), cursor=cursor, limit=200
            )
            if not found.items:
                break
            for summary in found.items:
                if released >= capacity:
                    break
                released += self._pick_pack_ship(summary.id)
                self._breathe()
            before = found.items[-1].id
            if found.next_cursor is None:
                break

    def _pick_pack_ship(self, order_id: int) -> int:
        if self.produced_on.get(order_id, date.min) > self.clock.now().date():
            return 0  # still in production
        try:
            lists = fulfilment.release_to_picking(self.ctx, order_id)
        except DomainError:
            return 0  # made to order and not produced yet, or nothing left to pick
        # One parcel per warehouse the order was picked in.
        parcels: dict[int, dict[str, int]] = {}
        for list_id in lists:
            for task in pick_list(self.ctx, list_id):
                if task.order_id != order_id:
                    continue
                if self.rng.random() < self.s.wrong_pick:
                    wrong = self.rng.choice(self.skus)
                    if wrong != task.sku:
                        self._quietly(fulfilment.scan, self.ctx, task.id, code=wrong, quantity=1)
                fulfilment.scan(self.ctx, task.id, code=task.sku, quantity=task.quantity)
                items = parcels.setdefault(task.warehouse_id, {})
                items[task.sku] = items.get(task.sku, 0) + task.quantity
        if not parcels:
            return 0
        if self.rng.random() < self.s.packing_error:
            items = parcels[min(parcels)]
            first = sorted(items)[0]
            # One unit too many in the parcel: the packing check records it, the order still ships whole.
            items[first] += 1
            self.failed.setdefault(order_id, set()).add("packing")
        specs = [
            PackageSpec(tuple(sorted(items.items())), Decimal("1.0"), (30, 20, 15), self.warehouse_codes[wid])
            for wid, items in sorted(parcels.items())
        ]
        packages = fulfilment.pack(self.ctx, order_id, specs)
        carrier = self.carrier_of[order_id]
        self.parcels_out[order_id] = self.parcels_out.get(order_id, 0) + len(packages)
        for n, package in enumerate(packages, start=1):
            tracking_number = f"{carrier.name}-{self.s.seed}-{order_id:09d}-{n}"
            fulfilment.ship(
                self.ctx,
                order_id,
                package,
                carrier=carrier.name,
                service=carrier.service,
                tracking_number=tracking_number,
            )
            self._travel(order_id, carrier, tracking_number)
        if order_id not in self.shipped_orders:
            self.shipped_orders.add(order_id)
            self.summary.shipped += 1
        return 1

    def _travel(self, order_id: int, carrier: Any, tracking_number: str) -> None:
        now = self.clock.now()
        morning = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC) + timedelta(
            hours=6
        )
        self.tracking[tracking_number] = (order_id, carrier.name)
        self.in_transit.add(tracking_number)
        tracked = carrier.eta or carrier.scan_hours > 0
        if not tracked:
            self.at(morning, "carrier", (carrier.name, tracking_number, CarrierEventType.IN_TRANSIT, ""))
        if self.rng.random() < carrier.loss:
            if tracked:  # lost the day after its only scan
                self.at(morning, "carrier", (carrier.name, tracking_number, CarrierEventType.IN_TRANSIT, ""))
            self.at(
                morning + timedelta(days=2),
                "carrier",
                (carrier.name, tracking_number, CarrierEventType.LOST, "lost in the network"),
            )
            self.summary.lost += 1
            return
        lane = next((x for x in carrier.lanes if x.country == self.country_of.get(order_id)), None)
        if lane is not None:
            # Working days, as the carrier counts them; the lane's drift from its day on.
            days = self.rng.choice(lane.transit_days)
            if 0 <= lane.drift_day <= (now - self.start).days:
                days += lane.drift_days
        else:
            days = self.rng.choice(carrier.transit_days)
        planned = self._arrival_day(now, days, lane is not None)
        delayed = self.rng.random() < carrier.delay
        if delayed:
            days += carrier.delay_days
            self.at(
                morning + timedelta(hours=4),
                "carrier",
                (carrier.name, tracking_number, CarrierEventType.DELAYED, "hub congestion"),
            )
            self.failed.setdefault(order_id, set()).add("late")
        if self.rng.random() < carrier.damage:
            self.at(
                morning + timedelta(hours=5),
                "carrier",
                (carrier.name, tracking_number, CarrierEventType.DAMAGED, "parcel crushed"),
            )
            self.failed.setdefault(order_id, set()).add("damaged")
        arrival = datetime.combine(
            self._arrival_day(now, days, lane is not None), datetime.min.time(), UTC
        ) + timedelta(hours=self.rng.randrange(9, 19))
        self.at(arrival, "carrier", (carrier.name, tracking_number, CarrierEventType.DELIVERED, ""))
        if tracked:
            scans = in_transit_scans(
                self.rng,
                carrier,
                first=morning,
                arrival=arrival,
                planned=planned,
                delay_known_at=morning + timedelta(hours=4) if delayed else None,
                calendar=self.calendar,
            )
            for n, scan in enumerate(scans):
                # The first scan keeps the id every carrier's first scan has; later ones are numbered.
                kind = CarrierEventType.IN_TRANSIT
                self.at(scan.at, "carrier", (carrier.name, tracking_number, kind, "", scan.estimate, n))

    def _arrival_day(self, shipped: datetime, days: int, working: bool) -> date:
        """A lane counts working days, as carriers quote them; a carrier's own transit, calendar days."""
        if working:
            return self.calendar.add_working_days(shipped.date(), days)
        return (shipped + timedelta(days=max(days, 1))).date()

    def _carrier(self, payload: tuple[Any, ...]) -> None:
        # (carrier, tracking number, type, detail[, estimated delivery, scan number])
        name, tracking_number, kind, detail, *scan = payload
        estimate, n = scan if scan else (None, 0)
        event_id = f"{tracking_number}-{kind.value}" + (f"-{n}" if n else "")
        tracking.record_carrier_events(
            self.ctx,
            [CarrierEventInput(name, event_id, tracking_number, kind, self.clock.now(), detail, estimate)],
        )
        if kind in (CarrierEventType.LOST, CarrierEventType.DELIVERED):
            self.in_transit.discard(tracking_number)
        if kind is CarrierEventType.LOST:
            # Customer service ships the parcel's contents again once the loss is confirmed.
            order_id, _ = self.tracking[tracking_number]
            self.at(self.clock.now() + timedelta(hours=self.rng.randrange(2, 24)), "reship", order_id)
        if kind is CarrierEventType.DELIVERED:
            order_id, _ = self.tracking[tracking_number]
            self.parcels_out[order_id] -= 1
            if self.parcels_out[order_id] == 0:  # the last parcel: the order is delivered
                # Orders, as shipped counts them (it counted parcels, so more were "delivered").
                self.summary.delivered += 1
                self._answer(order_id)

    def _reship(self, order_id: int) -> None:
        for claim in order_facts(self.ctx, order_id).claims:
            if claim.kind != CarrierEventType.LOST or claim.replacement_order_id is not None:
                continue
            try:
                replacement = aftersales.reship_lost_parcel(self.ctx, order_id, claim.id)
            except DomainError:
                continue
            self.summary.reshipped += 1
            self.carrier_of[replacement] = self.carrier_of[order_id]
            self.first_sku[replacement] = self.first_sku[order_id]

    def _answer(self, order_id: int) -> None:
        wrong = self.failed.get(order_id, set())
        self._come_back(order_id, wrong)
        later = self.clock.now() + timedelta(hours=self.rng.randrange(4, 72))
        if self.rng.random() < (self.s.feedback_when_wrong if wrong else self.s.feedback):
            self.at(later, "feedback", (order_id, wrong))
        if "damaged" in wrong and self.rng.random() < self.s.return_when_damaged:
            self.at(later + timedelta(hours=1), "return", (order_id, "damaged_in_transit"))
        elif self.suppliers is not None and self.suppliers.faulty(self.first_sku[order_id]):
            self.at(later + timedelta(hours=1), "return", (order_id, "defective"))
        elif self.rng.random() < self.s.return_changed_mind:
            self.at(later + timedelta(days=2), "return", (order_id, "changed_mind"))

    def _come_back(self, order_id: int, wrong: set[str]) -> None:
        chance = self.s.next_order * (self.s.imperfect_factor if wrong else 1.0)
        customer = self.customer_of.get(order_id)
        if customer is None or chance <= 0 or self.rng.random() >= chance:
            return
        days = self.rng.uniform(1, self.s.next_order_days)
        self.at(self.clock.now() + timedelta(days=days), "order", customer)

    def _feedback(self, payload: tuple[int, set[str]]) -> None:
        order_id, wrong = payload
        rating = self.rng.choice((1, 2, 3)) if wrong else self.rng.choice((4, 5, 5, 5))
        given = FeedbackInput(
            rating,
            arrived_complete=True,
            undamaged="damaged" not in wrong,
            as_described="packing" not in wrong,
        )
        if self._on_status_page():
            if self._quietly(lambda: status_page.rate(self.ctx, self._link(order_id), given)):
                self.summary.feedback += 1
                self.summary.self_service += 1
        elif self._quietly(lambda: aftersales.give_feedback(self.ctx, order_id, given)):
            self.summary.feedback += 1

    def _return(self, payload: tuple[int, str]) -> None:
        order_id, reason = payload
        sku = self.first_sku[order_id]
        try:
            if self._on_status_page():
                record = status_page.request_return(
                    self.ctx, self._link(order_id), reason=reason, lines=[(sku, 1)]
                )
                self.summary.self_service += 1
            else:
                record = aftersales.open_return(self.ctx, order_id, reason=reason, lines=[(sku, 1)])
        except DomainError:
            return
        self.summary.returns += 1
        # The parcel comes back some days later and is inspected: a damaged item is scrapped, one
        # the customer changed their mind about goes back on the shelf (a return was never received).
        damaged = reason != "changed_mind"
        back = self.clock.now() + timedelta(days=self.rng.randrange(3, 8), hours=self.rng.randrange(0, 8))
        self.at(back, "return_arrives", (record.id, sku, damaged))

    def _return_arrives(self, payload: tuple[int, str, bool]) -> None:
        return_id, sku, damaged = payload
        line = aftersales.ReceivedLine(sku, restock=0 if damaged else 1, scrap=1 if damaged else 0)
        if self._quietly(lambda: aftersales.receive_return(self.ctx, return_id, lines=[line])):
            self.summary.returns_received += 1

    @property
    def replenish_at(self) -> timedelta:
        # The planner works in the morning, on what yesterday sold; the old rule in the evening.
        return timedelta(hours=6 if self.s.replenish else 18)

    def _replenish(self, _: Any) -> None:
        if self.suppliers is not None and self.s.replenish:
            self.suppliers.follow_suggestions()
            return
        levels = inventory.stock_levels(self.ctx, limit=200 if self.s.products <= 100 else 100_000)
        if self.suppliers is not None:
            self.suppliers.reorder(levels)
            return
        for level in levels:
            if level.sku not in self.prices:
                # The simulated suppliers deliver the simulated catalog only: the demo loads its
                # sample products beside a running simulation, at a moment that varies by run.
                continue
            key = (level.sku, level.warehouse)
            if level.on_hand - level.reserved < self.s.reorder_point and key not in self.replenishing:
                self.replenishing.add(key)
                self.at(self.clock.now() + timedelta(days=self.s.supplier_lead_days), "receive", key)

    def _receive(self, key: tuple[str, str]) -> None:
        sku, warehouse = key
        inventory.receive_stock(
            self.ctx,
            sku=sku,
            warehouse=warehouse,
            quantity=self.s.reorder_quantity,
            reason="supplier delivery",
        )
        self.replenishing.discard(key)

    def _po_delivery(self, delivery: Delivery) -> None:
        assert self.suppliers is not None  # only suppliers schedule deliveries
        self.suppliers.deliver(delivery)

    def _risk(self, _: Any) -> None:
        delays.scan_late_releases(self.ctx)
        delays.scan_overdue_deliveries(self.ctx)
        delays.tell_untold_slips(self.ctx)
        now = self.clock.now()
        shipping = now < self.end + timedelta(days=TAIL_DAYS)
        if now >= self.end - timedelta(days=1) and (shipping or self.in_transit):
            # After the last order day the watch goes on while parcels are out, as a worker's
            # would: each slip is told until they arrive (then the run may end).
            self.at(now + timedelta(days=1), "risk")

    def _learn(self, _: Any) -> None:
        transit.learn_transit_times(self.ctx)

    def _send_soon(self) -> None:
        # Customers hear within a minute what happened (unless their mail is down): one dispatch
        # for everything that happened in that minute, as a worker polling the outbox would.
        if not self.sending:
            self.sending = True
            self.at(self.clock.now() + SEND_DELAY, "send")

    def _send(self, _: Any) -> None:
        self.sending = False
        self._dispatch(None)

    def _dispatch(self, _: Any) -> None:
        for _round in range(100):
            # A batch that was not full emptied what was due: no need to ask again.
            if self.dispatcher.run_once() < self.dispatcher.policy.batch:
                break

    # -- helpers -------------------------------------------------------------------------------

    def _poisson(self, mean: float) -> int:
        # Normal approximation above 30 keeps it quick; exact (Knuth) below.
        if mean > 30:
            return max(0, round(self.rng.gauss(mean, mean**0.5)))
        limit, k, p = pow(2.718281828459045, -mean), 0, 1.0
        while True:
            p *= self.rng.random()
            if p <= limit:
                return k
            k += 1

    @staticmethod
    def _quietly(action: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
        try:
            action(*args, **kwargs)
        except DomainError:
            return False
        return True


def simulate(
    application: Application,
    clock: SettableClock,
    scenario: Scenario,
    *,
    seed: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    until: datetime | None = None,
    live: Live | None = None,
) -> Summary:
    """Runs the scenario; with `until` (the command line passes the present) nothing after it."""
    simulation = Simulation(application, clock, scenario, scenario.seed if seed is None else seed, live)
    summary = simulation.run(progress, until=until)
    if live is not None:
        summary.judged += verdicts.refresh(application.services)
        simulation.report_progress(
            summary.days, f"{summary.orders:,} orders placed, every verdict stored", finished=True
        )
    return summary
