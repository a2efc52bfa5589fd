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
    previous_secret: str | None = None
    previous_secret_until: datetime | None = None

    def wants(self, topic: str) -> bool:
        return self.active and ("*" in self.event_types or topic in self.event_types)

    def signing_secrets(self, now: datetime) -> list[str]:
        """The current secret, and the previous one while its grace period lasts."""
        if self.previous_secret and self.previous_secret_until and now < self.previous_secret_until:
            return [self.secret, self.previous_secret]
        return [self.secret]


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
    def for_order(self, order_id: int) -> list[MessageRecord]:
        """Its messages, queued or archived."""
        ...

    def listing(self, *, status: str | None, limit: int) -> list[MessageRecord]: ...
    def archive_delivered(self, *, before: datetime, at: datetime, limit: int) -> int:
        """Moves up to `limit` messages delivered before `before` (with their delivery attempts) out
        of the queue into the archive; returns how many."""
        ...

    def retry(self, outbox_id: int, *, at: datetime) -> bool: ...
    def add_subscription(self, *, url: str, secret: str, event_types: Sequence[str], at: datetime) -> int: ...
    def subscriptions(self) -> list[Subscription]: ...
    def remove_subscription(self, subscription_id: int) -> bool:
        """Deletes it and dead-letters its undelivered messages; False when there is none."""
        ...

    def rotate_secret(self, subscription_id: int, *, secret: str, previous_until: datetime) -> bool:
        """The current secret becomes the previous one until `previous_until`; False when there
        is no such subscription."""
        ...

    def subscription_result(
        self, subscription_id: int, *, ok: bool, disable_after: int, at: datetime
    ) -> bool: ...


class DeliveryFailed(Exception):
    """A send that did not reach its receiver; it will be retried with backoff."""


class DeliveryRefused(DeliveryFailed):
    """A send we would not make (the receiver's address is not allowed, its subscription is gone):
    retrying cannot change that, so the message goes to the dead letters at once."""


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
    def post(self, url: str, secrets: Sequence[str], *, message_id: str, body: bytes) -> None:
        """Signs with every secret given (the current one first) and sends."""
        ...


class EmailRenderer(Protocol):
    def render(self, kind: str, context: Mapping[str, Any]) -> tuple[str, str, str]:
        """Subject, plain text and HTML of one email."""
        ...


class EventRelay(Protocol):
    def publish(self, topic: str, message_id: str, body: bytes) -> None: ...
