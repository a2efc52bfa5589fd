"""The transactional outbox: messages written with the change that causes them, sent afterwards."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class NewMessage:
    message_id: str
    kind: str  # email | webhook | event
    topic: str
    order_id: int | None
    payload: Mapping[str, Any]
    created_at: datetime
    recipient: str = ""
    subscription_id: int | None = None


@dataclass(frozen=True, slots=True)
class MessageRecord:
    id: int
    message_id: str
    kind: str
    topic: str
    order_id: int | None
    subscription_id: int | None
    recipient: str
    payload: dict[str, Any]
    status: str
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    delivered_at: datetime | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class Subscription:
    id: int
    url: str
    secret: str
    event_types: tuple[str, ...]
    active: bool
    consecutive_failures: int
    created_at: datetime

    def wants(self, topic: str) -> bool:
        return self.active and ("*" in self.event_types or topic in self.event_types)


class OutboxRepository(Protocol):
    def enqueue(self, messages: Sequence[NewMessage], *, ignore_duplicates: bool = False) -> None: ...
    def claim(
        self, *, worker: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[MessageRecord]: ...
    def record_attempt(
        self, outbox_id: int, *, at: datetime, ok: bool, error: str | None, worker: str
    ) -> None: ...
    def fanned_out(self, outbox_ids: Sequence[int], *, at: datetime, recipient: str, worker: str) -> None:
        """Marks event messages handed on (their attempts recorded, delivered) in two statements."""
        ...

    def delivered_to(self, deliveries: Sequence[tuple[int, str, datetime]], *, worker: str) -> None:
        """Records messages delivered (outbox id, recipient, when), with their attempts."""
        ...

    def failed(self, outbox_id: int, *, attempts: int, retry_at: datetime | None, error: str) -> None: ...
    def for_order(self, order_id: int) -> list[MessageRecord]: ...
    def listing(self, *, status: str | None, limit: int) -> list[MessageRecord]: ...
    def retry(self, outbox_id: int, *, at: datetime) -> bool: ...
    def add_subscription(self, *, url: str, secret: str, event_types: Sequence[str], at: datetime) -> int: ...
    def subscriptions(self) -> list[Subscription]: ...
    def subscription_result(
        self, subscription_id: int, *, ok: bool, disable_after: int, at: datetime
    ) -> bool: ...


class DeliveryFailed(Exception):
    """A send that did not reach its receiver; it will be retried with backoff."""


@dataclass(frozen=True, slots=True)
class Email:
    to: str
    subject: str
    text: str
    html: str
    message_id: str


class Mailer(Protocol):
    def send(self, email: Email) -> None: ...


class WebhookPoster(Protocol):
    def post(self, url: str, secret: str, *, message_id: str, body: bytes) -> None: ...


class EmailRenderer(Protocol):
    def render(self, kind: str, context: Mapping[str, Any]) -> tuple[str, str, str]:
        """Subject, plain text and HTML of one email."""
        ...


class EventRelay(Protocol):
    def publish(self, topic: str, message_id: str, body: bytes) -> None: ...
