"""The one place that builds engines, units of work and the service context. Nothing at import time."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from sqlalchemy import Engine

from perfectorder.adapters.clock import SystemClock
from perfectorder.adapters.db.engine import build_engine
from perfectorder.adapters.db.unit_of_work import SqlAlchemyUnitOfWorkFactory
from perfectorder.adapters.email import SmtpMailer
from perfectorder.adapters.nats_relay import NatsRelay
from perfectorder.adapters.passwords import Argon2PasswordHasher
from perfectorder.adapters.ratelimit import MemoryRateLimiter, RedisRateLimiter
from perfectorder.adapters.templates import JinjaEmailRenderer
from perfectorder.adapters.webhooks import HttpWebhookPoster
from perfectorder.config import Settings
from perfectorder.domain.approval import RiskRules
from perfectorder.domain.values import Channel
from perfectorder.domain.verification import Limits
from perfectorder.services.context import ServiceContext
from perfectorder.services.dispatch import Dispatcher, DispatchPolicy
from perfectorder.services.ports import Clock, PasswordHasher


class RateLimiter(Protocol):
    def take(self, key: str) -> float | None: ...


@dataclass(frozen=True, slots=True)
class Application:
    settings: Settings
    engine: Engine
    services: ServiceContext
    passwords: PasswordHasher
    rate_limiter: RateLimiter

    def close(self) -> None:
        self.engine.dispose()


def build(settings: Settings, *, clock: Clock | None = None) -> Application:
    engine = build_engine(settings)
    factory = SqlAlchemyUnitOfWorkFactory(engine, max_concurrent_writers=settings.max_concurrent_writers)
    context = ServiceContext(
        uow=factory,
        clock=clock or SystemClock(),
        limits=Limits(
            max_lines=settings.max_lines_per_order,
            max_quantity=settings.max_quantity_per_line,
            max_promise_days=settings.max_promise_days,
            price_override_channels=frozenset(
                Channel(c) for c in settings.price_override_channels if c in Channel._value2member_map_
            ),
        ),
        risk=RiskRules(review_above=Decimal(settings.risk_review_above)),
        retry_attempts=settings.retry_attempts,
        capture_at_shipment=settings.capture_at == "shipment",
        page_size_limit=settings.page_size_limit,
    )
    limiter: RateLimiter
    if settings.redis_url:
        limiter = RedisRateLimiter(
            settings.redis_url, settings.rate_limit_per_second, settings.rate_limit_burst
        )
    else:
        limiter = MemoryRateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
    return Application(settings, engine, context, Argon2PasswordHasher(), limiter)


def build_dispatcher(application: Application, *, worker: str) -> Dispatcher:
    """The outbox dispatcher with real SMTP, signed webhooks and (when configured) the NATS relay."""
    s = application.settings
    mailer = SmtpMailer(
        host=s.smtp_host,
        port=s.smtp_port,
        sender=s.mail_from,
        security=s.smtp_security,
        username=s.smtp_username,
        password=s.smtp_password,
    )
    relay = NatsRelay(s.nats_url) if s.nats_url else None
    return Dispatcher(
        application.services,
        mailer,
        HttpWebhookPoster(),
        JinjaEmailRenderer(s.template_dir),
        relay,
        DispatchPolicy(storefront_url=s.storefront_url),
        worker=worker,
    )
