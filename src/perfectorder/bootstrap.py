"""The one place that builds engines, units of work and the service context. Nothing at import time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Protocol

from sqlalchemy import Engine

from perfectorder.adapters.clock import SystemClock
from perfectorder.adapters.db.engine import build_engine
from perfectorder.adapters.db.unit_of_work import SqlAlchemyUnitOfWorkFactory
from perfectorder.adapters.email import SmtpMailer
from perfectorder.adapters.nats_relay import NatsRelay
from perfectorder.adapters.passwords import Argon2PasswordHasher, BoundedPasswordHasher
from perfectorder.adapters.ratelimit import MemoryRateLimiter, RedisRateLimiter
from perfectorder.adapters.templates import JinjaEmailRenderer
from perfectorder.adapters.webhooks import HttpWebhookPoster, resolve_host
from perfectorder.config import Settings
from perfectorder.domain.approval import RiskRules
from perfectorder.domain.values import Channel
from perfectorder.domain.verification import Limits
from perfectorder.domain.webhook_urls import WebhookAllowList
from perfectorder.services.context import ServiceContext
from perfectorder.services.dispatch import Dispatcher, DispatchPolicy
from perfectorder.services.login import LoginPolicy, Logins
from perfectorder.services.ports import Clock, PasswordHasher
from perfectorder.services.webhook_targets import Resolver, WebhookGuard


class RateLimiter(Protocol):
    def take(self, key: str) -> float | None: ...


@dataclass(frozen=True, slots=True)
class Application:
    settings: Settings
    engine: Engine
    services: ServiceContext
    passwords: PasswordHasher
    rate_limiter: RateLimiter
    logins: Logins

    def close(self) -> None:
        self.engine.dispose()


def build(
    settings: Settings,
    *,
    clock: Clock | None = None,
    passwords: PasswordHasher | None = None,
    resolver: Resolver | None = None,
) -> Application:
    """`passwords` replaces the argon2 hasher (tests pass a cheaper or an instrumented one); it is
    bounded by the same gate either way. `resolver` replaces DNS for webhook hosts (tests); by
    default the system's resolver."""
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
        webhook_guard=WebhookGuard(WebhookAllowList.parse(settings.webhook_allow), resolver or resolve_host),
        webhook_secret_grace=timedelta(hours=settings.webhook_secret_grace_hours),
    )
    limiter = _limiter(settings, settings.rate_limit_per_second, settings.rate_limit_burst)
    hasher = BoundedPasswordHasher(
        passwords or Argon2PasswordHasher(),
        slots=settings.login_hashing_slots,
        wait_seconds=settings.login_hashing_wait_seconds,
        max_waiting=settings.login_hashing_queue,
    )
    logins = Logins(
        hasher,
        _limiter(settings, settings.login_attempts_per_minute / 60, settings.login_attempts_burst),
        LoginPolicy(
            failures_per_name_and_client=settings.login_failures_per_name_and_client,
            failures_per_name=settings.login_failures_per_name,
            window=timedelta(seconds=settings.login_failure_window_seconds),
        ),
    )
    return Application(settings, engine, context, hasher, limiter, logins)


def _limiter(settings: Settings, rate_per_second: float, burst: int) -> RateLimiter:
    if settings.redis_url:
        return RedisRateLimiter(settings.redis_url, rate_per_second, burst)
    return MemoryRateLimiter(rate_per_second, burst)


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
        HttpWebhookPoster(application.services.webhook_guard),
        JinjaEmailRenderer(s.template_dir),
        relay,
        DispatchPolicy(
            storefront_url=s.storefront_url, email_retry_horizon=timedelta(hours=s.email_retry_hours)
        ),
        worker=worker,
    )
