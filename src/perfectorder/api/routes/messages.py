"""What was sent to whom and when; webhook subscriptions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from perfectorder.api.deps import MAX_ID, OrdersReader, Services, WebhookManager
from perfectorder.api.errors import error_responses
from perfectorder.api.schemas import In
from perfectorder.services import dispatch

router = APIRouter(prefix="/api/v1", tags=["communication"])


class MessagePublic(BaseModel):
    message_id: str
    channel: str = Field(description="email or webhook")
    what: str = Field(description="The email kind or the event type")
    to: str
    queued_at: datetime
    delivered_at: datetime | None
    attempts: int
    status: str = Field(description="pending, sending, delivered or dead")
    last_error: str | None


class SubscriptionCreate(In):
    url: str = Field(max_length=500)
    event_types: list[str] = Field(max_length=100, description="Event types such as order.shipped, or '*'")


class SubscriptionPublic(BaseModel):
    id: int
    url: str
    event_types: list[str]
    active: bool
    consecutive_failures: int
    created_at: datetime


class SubscriptionCreated(SubscriptionPublic):
    secret: str = Field(description="whsec_... signing secret; shown once")


class SecretRotated(BaseModel):
    id: int
    secret: str = Field(description="The new whsec_... signing secret; shown once")
    previous_secret_valid_until: datetime = Field(
        description="Until then deliveries carry a signature with the previous secret too"
    )


SubscriptionId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get(
    "/orders/{order_id}/messages",
    response_model=list[MessagePublic],
    operation_id="order_messages",
    responses=error_responses(404, 422),
)
def messages(
    order_id: Annotated[int, Path(ge=1, le=MAX_ID)], services: Services, caller: OrdersReader
) -> list[MessagePublic]:
    """Every email and webhook this order caused: what, to whom, queued, delivered, attempts."""
    return [
        MessagePublic(
            message_id=m.message_id,
            channel=m.kind,
            what=m.topic,
            to=m.recipient,
            queued_at=m.created_at,
            delivered_at=m.delivered_at,
            attempts=m.attempts,
            status=m.status,
            last_error=m.last_error,
        )
        for m in dispatch.order_messages(services, order_id, caller=caller)
    ]


@router.post(
    "/webhook-subscriptions",
    status_code=201,
    response_model=SubscriptionCreated,
    operation_id="create_webhook_subscription",
    responses=error_responses(413, 422, 503),
)
def subscribe(body: SubscriptionCreate, services: Services, _caller: WebhookManager) -> SubscriptionCreated:
    """Subscribe a URL to events; deliveries are signed with the Standard Webhooks scheme. The URL
    must be http(s) to a public address (422 webhook_url_not_allowed otherwise)."""
    secret = dispatch.new_webhook_secret()
    subscription_id = dispatch.subscribe(services, url=body.url, event_types=body.event_types, secret=secret)
    found = next(s for s in dispatch.subscriptions(services) if s.id == subscription_id)
    return SubscriptionCreated(
        id=found.id,
        url=found.url,
        event_types=list(found.event_types),
        active=found.active,
        consecutive_failures=found.consecutive_failures,
        created_at=found.created_at,
        secret=secret,
    )


@router.get(
    "/webhook-subscriptions",
    response_model=list[SubscriptionPublic],
    operation_id="list_webhook_subscriptions",
)
def list_subscriptions(services: Services, _caller: WebhookManager) -> list[SubscriptionPublic]:
    return [
        SubscriptionPublic(
            id=s.id,
            url=s.url,
            event_types=list(s.event_types),
            active=s.active,
            consecutive_failures=s.consecutive_failures,
            created_at=s.created_at,
        )
        for s in dispatch.subscriptions(services)
    ]


@router.delete(
    "/webhook-subscriptions/{subscription_id}",
    status_code=204,
    operation_id="delete_webhook_subscription",
    responses=error_responses(404, 422, 503),
)
def unsubscribe(subscription_id: SubscriptionId, services: Services, _caller: WebhookManager) -> Response:
    """Delete a subscription: nothing more is sent to it, and its undelivered messages go dead."""
    dispatch.unsubscribe(services, subscription_id)
    return Response(status_code=204)


@router.post(
    "/webhook-subscriptions/{subscription_id}/rotate-secret",
    response_model=SecretRotated,
    operation_id="rotate_webhook_secret",
    responses=error_responses(404, 413, 422, 503),
)
def rotate_secret(
    subscription_id: SubscriptionId, services: Services, _caller: WebhookManager
) -> SecretRotated:
    """A new signing secret, shown once; the previous one keeps signing too for a grace period."""
    secret = dispatch.new_webhook_secret()
    until = dispatch.rotate_secret(services, subscription_id, secret=secret)
    return SecretRotated(id=subscription_id, secret=secret, previous_secret_valid_until=until)
