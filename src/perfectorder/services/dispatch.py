"""The outbox dispatcher: claims due messages, sends them outside any transaction, records every
attempt, retries with exponential backoff and jitter, and dead-letters what keeps failing.

Delivery is at least once: a crash between sending and recording means the message goes again,
with the same message id, so receivers can de-duplicate.
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from perfectorder.domain.access import SYSTEM
from perfectorder.domain.status_links import tracking_url
from perfectorder.services.context import ServiceContext, read, run_transaction
from perfectorder.services.outbox_ports import (
    DeliveryFailed,
    DeliveryRefused,
    Email,
    EmailRenderer,
    EventRelay,
    Mailer,
    MessageRecord,
    NewMessage,
    Subscription,
    WebhookPoster,
)
from perfectorder.services.ports import AuditEntry, UnitOfWork
from perfectorder.services.status_page import link_paths

log = logging.getLogger("perfectorder.dispatch")


@dataclass(frozen=True, slots=True)
class DispatchPolicy:
    max_attempts: int = 8
    # A customer e-mail held back by a mail outage is retried for this long after it was queued,
    # however many attempts that takes: it reaches the customer late (judged message_late), where
    # eight attempts (about an hour) made it missing.
    email_retry_horizon: timedelta = timedelta(days=2)
    base_delay: timedelta = timedelta(seconds=2)
    max_delay: timedelta = timedelta(hours=1)
    lease: timedelta = timedelta(minutes=2)
    batch: int = 50
    disable_webhook_after: int = 20
    storefront_url: str = "http://127.0.0.1:8000"
    # Where customers reach this server: each e-mail links to the order's signed status page here.
    public_url: str = "http://127.0.0.1:8000"


@dataclass
class Dispatcher:
    ctx: ServiceContext
    mailer: Mailer
    webhooks: WebhookPoster
    renderer: EmailRenderer
    relay: EventRelay | None = None
    policy: DispatchPolicy = DispatchPolicy()
    worker: str = "worker"
    # What became of the messages handled so far: delivered, retrying (failed, tried again later) or
    # dead (given up), with the last error; `perfectorder worker --once` reports them as they are.
    outcomes: Counter[str] = field(default_factory=Counter)
    last_error: str = ""

    def run_once(self) -> int:
        """Sends one batch; returns how many messages were handled."""
        now = self.ctx.clock.now()
        batch = run_transaction(
            self.ctx,
            lambda uow: uow.outbox.claim(
                worker=self.worker, now=now, lease_until=now + self.policy.lease, limit=self.policy.batch
            ),
        )
        # Without a relay an event's fan-out is all database work: one transaction for the batch
        # instead of two per event, which is most of the outbox.
        events = [m for m in batch if m.kind == "event"] if self.relay is None else []
        if events:
            try:
                run_transaction(self.ctx, lambda uow: self._fan_out_all(uow, events, now))
            except Exception:  # noqa: BLE001 - fall back to one by one, where failures are recorded
                log.exception("batched fan-out failed; handling the events one by one")
                events = []
        handled = {m.id for m in events}
        self.outcomes["delivered"] += len(events)
        emails = [m for m in batch if m.kind == "email"]
        if emails:
            self._send_emails(emails)
            handled |= {m.id for m in emails}
        for message in batch:
            if message.id not in handled:
                self._handle(message)
        return len(batch)

    def _send_emails(self, messages: list[MessageRecord]) -> None:
        """Sends a batch's e-mails with one read of their orders before and one write of the
        outcomes after: per message, that was two transactions and a dozen statements. A crash
        in between sends the batch's messages again, with their ids, as a crash always could."""
        try:
            contexts = read(self.ctx, lambda uow: _email_contexts(uow, messages, self.ctx, self.policy))
        except Exception as failure:  # noqa: BLE001 - recorded per message and retried, as a send failure
            log.exception("the orders of %d e-mails could not be read", len(messages))
            for message in messages:
                self._failed(message, f"{type(failure).__name__}: {failure}")
            return
        delivered: list[tuple[int, str, datetime]] = []
        arrived: set[int] = set()
        failed: list[tuple[MessageRecord, str]] = []
        for message in messages:
            context = contexts.get(message.id)
            try:
                if context is None:
                    raise DeliveryFailed("the order or its customer no longer exists")
                subject, text, html = self.renderer.render(message.topic, context)
                to = str(context["customer_email"])
                self.mailer.send(Email(to, subject, text, html, message.message_id))
            except DeliveryFailed as failure:
                failed.append((message, str(failure)))
            except Exception as failure:  # noqa: BLE001 - one bad message must never stop the worker
                log.exception("message %s could not be handled", message.message_id)
                failed.append((message, f"{type(failure).__name__}: {failure}"))
            else:
                delivered.append((message.id, to, self.ctx.clock.now()))
                arrived.add(context["order"].id)
        now = self.ctx.clock.now()

        def work(uow: UnitOfWork) -> None:
            uow.outbox.delivered_to(delivered, worker=self.worker)
            # When a message arrived decides the communicated component.
            uow.verdicts.enqueue(sorted(arrived), at=now)

        if delivered:
            run_transaction(self.ctx, work)
            self.outcomes["delivered"] += len(delivered)
        for message, error in failed:
            self._failed(message, error)

    def _fan_out_all(self, uow: UnitOfWork, events: list[MessageRecord], now: datetime) -> None:
        subscriptions = uow.outbox.subscriptions()
        copies: list[NewMessage] = []
        by_recipient: dict[str, list[int]] = defaultdict(list)
        for message in events:
            wanted = _webhook_copies(message, subscriptions, now)
            copies += wanted
            by_recipient[_subscribers(len(wanted))].append(message.id)
        uow.outbox.enqueue(copies, ignore_duplicates=True)
        # A batch's events mostly share their recipients ("0 subscriber(s)" in a store without
        # webhooks): marked together, not one statement pair per event.
        for recipient, ids in by_recipient.items():
            uow.outbox.fanned_out(ids, at=now, recipient=recipient, worker=self.worker)

    def run_forever(self, stop: threading.Event, *, idle_seconds: float = 0.5) -> None:
        while not stop.is_set():
            if self.run_once() == 0:
                stop.wait(idle_seconds)

    def _handle(self, message: MessageRecord) -> None:
        try:
            recipient = self._send(message)
        except DeliveryRefused as failure:
            self._failed(message, str(failure), final=True)
        except DeliveryFailed as failure:
            self._failed(message, str(failure))
        except Exception as failure:  # noqa: BLE001 - one bad message must never stop the worker
            log.exception("message %s could not be handled", message.message_id)
            self._failed(message, f"{type(failure).__name__}: {failure}")
        else:
            self._delivered(message, recipient)

    def _send(self, message: MessageRecord) -> str:
        if message.kind == "webhook":
            return self._send_webhook(message)
        return self._fan_out(message)

    def _send_webhook(self, message: MessageRecord) -> str:
        subscription = next(
            (
                s
                for s in read(self.ctx, lambda uow: uow.outbox.subscriptions())
                if s.id == message.subscription_id
            ),
            None,
        )
        if subscription is None:
            raise DeliveryRefused("the subscription was deleted")
        if not subscription.active:
            raise DeliveryFailed("the subscription is disabled")
        body = json.dumps(
            {"type": message.topic, "timestamp": message.created_at.isoformat(), "data": message.payload},
            sort_keys=True,
        ).encode()
        secrets = subscription.signing_secrets(self.ctx.clock.now())
        try:
            self.webhooks.post(subscription.url, secrets, message_id=message.message_id, body=body)
        except DeliveryFailed:
            self._subscription_result(subscription.id, ok=False)
            raise
        self._subscription_result(subscription.id, ok=True)
        return subscription.url

    def _subscription_result(self, subscription_id: int, *, ok: bool) -> None:
        now = self.ctx.clock.now()

        def work(uow: UnitOfWork) -> None:
            disabled = uow.outbox.subscription_result(
                subscription_id, ok=ok, disable_after=self.policy.disable_webhook_after, at=now
            )
            if disabled:
                # The admins' notice: in the audit log they read (GET /api/v1/audit, `audit tail`).
                log.warning("webhook subscription %s disabled after repeated failures", subscription_id)
                uow.access.add_audit(
                    AuditEntry(
                        now,
                        f"system:{self.worker}",
                        None,
                        "DISABLE",
                        f"/api/v1/webhook-subscriptions/{subscription_id}",
                        503,
                        "",
                        "webhook_disabled",
                    )
                )

        run_transaction(self.ctx, work)

    def _fan_out(self, message: MessageRecord) -> str:
        """An event becomes one webhook message per interested subscriber (and goes to the relay).
        The webhook ids derive from the event's id and duplicates are skipped, so running a fan-out
        again (after a crash, or a relay failure) queues nothing twice."""
        now = self.ctx.clock.now()
        if self.relay is not None:
            self.relay.publish(message.topic, message.message_id, json.dumps(message.payload).encode())

        def work(uow: UnitOfWork) -> int:
            wanted = _webhook_copies(message, uow.outbox.subscriptions(), now)
            uow.outbox.enqueue(wanted, ignore_duplicates=True)
            return len(wanted)

        return _subscribers(run_transaction(self.ctx, work))

    def _delivered(self, message: MessageRecord, recipient: str) -> None:
        now = self.ctx.clock.now()

        run_transaction(
            self.ctx, lambda uow: uow.outbox.delivered_to([(message.id, recipient, now)], worker=self.worker)
        )
        self.outcomes["delivered"] += 1

    def _failed(self, message: MessageRecord, error: str, *, final: bool = False) -> None:
        now = self.ctx.clock.now()
        attempts = message.attempts + 1
        given_up = final or self._exhausted(message, attempts, now)
        retry_at = None if given_up else now + self._backoff(attempts)

        def work(uow: UnitOfWork) -> None:
            uow.outbox.record_attempt(message.id, at=now, ok=False, error=error, worker=self.worker)
            uow.outbox.failed(message.id, attempts=attempts, retry_at=retry_at, error=error)

        run_transaction(self.ctx, work)
        self.outcomes["dead" if given_up else "retrying"] += 1
        self.last_error = error

    def _exhausted(self, message: MessageRecord, attempts: int, now: datetime) -> bool:
        if message.kind == "email":
            return now >= message.created_at + self.policy.email_retry_horizon
        return attempts >= self.policy.max_attempts

    def _backoff(self, attempts: int) -> timedelta:
        # Full jitter: spread retries so a recovering receiver is not hit by every sender at once.
        ceiling = min(self.policy.max_delay, self.policy.base_delay * (2 ** (attempts - 1)))
        delay: timedelta = ceiling * random.uniform(0.5, 1.0)
        return delay


def _webhook_copies(
    message: MessageRecord, subscriptions: Sequence[Subscription], now: datetime
) -> list[NewMessage]:
    """The event's webhook message for each interested subscriber; the id derives from the event's,
    so a fan-out run again queues nothing twice."""
    return [
        NewMessage(
            f"{message.message_id}:{s.id}",
            "webhook",
            message.topic,
            message.order_id,
            message.payload,
            now,
            recipient=s.url,
            subscription_id=s.id,
        )
        for s in subscriptions
        if s.wants(message.topic)
    ]


def _subscribers(count: int) -> str:
    # What an event's delivery records as its recipient.
    return f"{count} subscriber(s)"


def _email_contexts(
    uow: UnitOfWork, messages: Sequence[MessageRecord], ctx: ServiceContext, policy: DispatchPolicy
) -> dict[int, dict[str, Any]]:
    """What each message's template is rendered with, by outbox id; a message whose order or
    customer no longer exists has none."""
    orders = uow.orders.get_many([m.order_id for m in messages if m.order_id is not None])
    contacts = uow.customers.contacts([o.customer_id for o in orders.values()])
    shipments = uow.fulfilment.shipments_of(list(orders))
    links = link_paths(uow, list(orders), ctx)
    contexts: dict[int, dict[str, Any]] = {}
    for message in messages:
        order = orders.get(message.order_id) if message.order_id is not None else None
        contact = contacts.get(order.customer_id) if order is not None else None
        if order is None or contact is None:
            continue
        contexts[message.id] = {
            "customer_name": contact[0],
            "customer_email": contact[1],
            "order": order,
            "event": message.payload,
            "shipments": shipments.get(order.id, []),
            "storefront_url": policy.storefront_url,
            # The customer's region and time zone: amounts and dates are written as they read them.
            "country": order.shipping_address.country,
            "timezone": order.shipping_address.timezone,
            "tracking_url": _tracking_url(ctx, message.payload),
            "status_url": f"{policy.public_url}{links[order.id]}",
            "expected_date": order.rescheduled_date or order.promised_date,
        }
    return contexts


def _tracking_url(ctx: ServiceContext, event: dict[str, Any]) -> str | None:
    carrier, number = event.get("carrier"), event.get("tracking_number")
    if not isinstance(carrier, str) or not isinstance(number, str):
        return None
    return tracking_url(ctx.tracking_urls, carrier, number)


def outbox_listing(ctx: ServiceContext, *, status: str | None, limit: int) -> list[MessageRecord]:
    return read(ctx, lambda uow: uow.outbox.listing(status=status, limit=limit))


def retry_dead(ctx: ServiceContext, outbox_id: int) -> bool:
    now = ctx.clock.now()
    return run_transaction(ctx, lambda uow: uow.outbox.retry(outbox_id, at=now))


def order_messages(ctx: ServiceContext, order_id: int, *, caller: Any = SYSTEM) -> list[MessageRecord]:
    from perfectorder.services.lifecycle import visible_order

    def work(uow: UnitOfWork) -> list[MessageRecord]:
        visible_order(uow, order_id, caller)
        found = uow.outbox.for_order(order_id)
        if caller.is_tenant:
            # A tenant sees the e-mails its order caused, not our webhook subscribers or their errors.
            return [m for m in found if m.kind == "email"]
        return found

    return read(ctx, work)


WEBHOOK_SECRET_PREFIX = "whsec_"


def new_webhook_secret() -> str:
    """A Standard Webhooks signing secret: `whsec_` + base64 of 24 random bytes."""
    import base64
    import secrets

    return WEBHOOK_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def subscribe(ctx: ServiceContext, *, url: str, event_types: list[str], secret: str) -> int:
    """Refuses a URL whose host is, or resolves to, anything but public addresses (or one the
    operator allows): a name that does not resolve is refused too, so the caller learns of a typo
    now rather than from dead letters. The sender checks again before every delivery."""
    from perfectorder.domain.errors import InvalidInput

    ctx.webhook_guard.check(url)
    if not event_types:
        raise InvalidInput(
            "no_event_types", "name the events to receive, or '*' for all", field="event_types"
        )
    now = ctx.clock.now()
    return run_transaction(
        ctx, lambda uow: uow.outbox.add_subscription(url=url, secret=secret, event_types=event_types, at=now)
    )


def subscriptions(ctx: ServiceContext) -> list[Subscription]:
    return read(ctx, lambda uow: uow.outbox.subscriptions())


def unsubscribe(ctx: ServiceContext, subscription_id: int) -> None:
    """Deletes the subscription; what it has not yet been sent goes to the dead letters."""
    if not run_transaction(ctx, lambda uow: uow.outbox.remove_subscription(subscription_id)):
        raise _no_subscription(subscription_id)


def rotate_secret(ctx: ServiceContext, subscription_id: int, *, secret: str) -> datetime:
    """Replaces the signing secret; deliveries carry a signature with the previous one too until
    the returned time, so receivers can switch without missing a delivery."""
    until = ctx.clock.now() + ctx.webhook_secret_grace

    def work(uow: UnitOfWork) -> bool:
        return uow.outbox.rotate_secret(subscription_id, secret=secret, previous_until=until)

    if not run_transaction(ctx, work):
        raise _no_subscription(subscription_id)
    return until


def _no_subscription(subscription_id: int) -> Exception:
    from perfectorder.domain.errors import NotFound

    return NotFound(
        "webhook_subscription_not_found",
        f"there is no webhook subscription {subscription_id}; GET /api/v1/webhook-subscriptions lists them",
    )
