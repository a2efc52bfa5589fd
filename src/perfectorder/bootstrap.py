"""The one place that builds the application: engines, units of work, the service context, the audit
sink, rate limiters, the migrator, the e-mail renderer, file readers and clocks. Entry points reach
adapters only through what is built here. Nothing at import time."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine

from perfectorder.adapters.clock import SimulatedClock, SystemClock
from perfectorder.adapters.db.engine import build_engine
from perfectorder.adapters.db.migrate import EngineMigrator
from perfectorder.adapters.db.replica import ReplicaFirst
from perfectorder.adapters.db.repositories.access import AuditLog
from perfectorder.adapters.db.unit_of_work import SqlAlchemyFailures, SqlAlchemyUnitOfWorkFactory
from perfectorder.adapters.email import SmtpMailer
from perfectorder.adapters.files import csv_files
from perfectorder.adapters.learning import LogisticLearner
from perfectorder.adapters.nats_relay import NatsRelay
from perfectorder.adapters.passwords import Argon2PasswordHasher, BoundedPasswordHasher
from perfectorder.adapters.ratelimit import MemoryRateLimiter, RedisRateLimiter
from perfectorder.adapters.templates import JinjaEmailRenderer
from perfectorder.adapters.webhooks import HttpWebhookPoster, resolve_host
from perfectorder.config import Settings
from perfectorder.domain.approval import RiskRules
from perfectorder.domain.promise import OnTimeTerms, parse_channel_terms
from perfectorder.domain.promise_risk import window_days as risk_window
from perfectorder.domain.self_service import parse_return_windows
from perfectorder.domain.status_links import parse_tracking_urls
from perfectorder.domain.transit import learning_terms
from perfectorder.domain.values import Channel
from perfectorder.domain.verification import Limits
from perfectorder.domain.webhook_urls import WebhookAllowList
from perfectorder.metrics.failure_cost import parse_failure_costs
from perfectorder.services import access
from perfectorder.services.context import ServiceContext
from perfectorder.services.dispatch import Dispatcher, DispatchPolicy
from perfectorder.services.entry_ports import (
    AuditSink,
    DatabaseFailures,
    FileStore,
    Migrator,
    RateLimiter,
    SettableClock,
)
from perfectorder.services.login import LoginPolicy, Logins
from perfectorder.services.outbox_ports import EmailRenderer
from perfectorder.services.ports import Amendment, AuditEntry, Clock, PasswordHasher
from perfectorder.services.webhook_targets import Resolver, WebhookGuard


@dataclass(frozen=True, slots=True)
class Application:
    settings: Settings
    engine: Engine
    services: ServiceContext
    passwords: PasswordHasher
    rate_limiter: RateLimiter
    logins: Logins
    migrator: Migrator
    renderer: EmailRenderer
    database_failures: DatabaseFailures
    # Reports, dashboard reads and the order board on a read replica (None: none configured).
    replica: ReplicaFirst | None = None
    read_services: ServiceContext | None = None

    @property
    def clock(self) -> Clock:
        return self.services.clock

    @property
    def reports(self) -> ServiceContext:
        """The context for reads that may lag a moment: the replica's when there is one."""
        return self.read_services or self.services

    def read_freshness(self) -> tuple[str, datetime] | None:
        """Where such reads are served now and as of when; None without a replica."""
        return self.replica.freshness() if self.replica is not None else None

    @property
    def audit(self) -> AuditSink:
        """Read from the unit of work in use, not fixed at build: a test may swap the services."""
        uow = self.services.uow
        if isinstance(uow, SqlAlchemyUnitOfWorkFactory):
            return _BatchedAudit(uow.audit_log)
        return _DirectAudit(self.services)

    def close(self) -> None:
        uow = self.services.uow
        if isinstance(uow, SqlAlchemyUnitOfWorkFactory):
            uow.audit_log.close()
        if self.replica is not None:
            self.replica.replica.audit_log.close()
            self.replica.replica.engine.dispose()
        self.engine.dispose()


class _BatchedAudit:
    """Calls that changed nothing are queued and written in batches off the request path and
    outside the writer gate; reading the log flushes the queue first."""

    blocking = False

    def __init__(self, log: AuditLog) -> None:
        self._log = log

    @property
    def pending(self) -> int:
        return self._log.pending

    def record(self, item: AuditEntry | Amendment) -> None:
        self._log.add(item)

    def flush(self) -> int:
        return self._log.flush()


class _DirectAudit:
    """Without the database's batching log (a unit of work in memory), each entry is written as it comes."""

    blocking = True
    pending = 0

    def __init__(self, services: ServiceContext) -> None:
        self._services = services

    def record(self, item: AuditEntry | Amendment) -> None:
        if isinstance(item, AuditEntry):
            access.record_audit(self._services, item)

    def flush(self) -> int:
        return 0


def _channel_terms(text: str) -> dict[str, OnTimeTerms]:
    try:
        return parse_channel_terms(text)
    except ValueError as e:
        raise ValueError(f"PERFECTORDER_ON_TIME_TERMS: {e}") from None


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
            on_time_terms=_channel_terms(settings.on_time_terms),
        ),
        risk=RiskRules(review_above=Decimal(settings.risk_review_above)),
        retry_attempts=settings.retry_attempts,
        capture_at_shipment=settings.capture_at == "shipment",
        page_size_limit=settings.page_size_limit,
        webhook_guard=WebhookGuard(WebhookAllowList.parse(settings.webhook_allow), resolver or resolve_host),
        webhook_secret_grace=timedelta(hours=settings.webhook_secret_grace_hours),
        failure_costs=parse_failure_costs(settings.failure_costs, settings.failure_cost_currency),
        status_link_lifetime=timedelta(days=settings.status_link_days),
        outbox_retention=timedelta(days=settings.outbox_retention_days),
        tracking_urls=parse_tracking_urls(settings.tracking_urls),
        return_windows=parse_return_windows(settings.return_windows),
        transit=learning_terms(
            settings.promise_quantile,
            settings.transit_window_days,
            settings.transit_min_parcels,
            settings.lane_postal_prefix,
        ),
        risk_learner=LogisticLearner(),
        risk_window_days=risk_window(settings.risk_window_days),
        po_over_receipt_percent=settings.po_over_receipt_percent,
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
    replica = None
    if settings.read_database_url:
        replica_engine = build_engine(replace(settings, database_url=settings.read_database_url))
        replica = ReplicaFirst(
            SqlAlchemyUnitOfWorkFactory(replica_engine, max_concurrent_writers=None), factory
        )
    return Application(
        settings,
        engine,
        context,
        hasher,
        limiter,
        logins,
        migrator=EngineMigrator(engine),
        renderer=JinjaEmailRenderer(settings.template_dir),
        database_failures=SqlAlchemyFailures(),
        replica=replica,
        read_services=replace(context, uow=replica) if replica is not None else None,
    )


def files() -> FileStore:
    """Merchants' files; needs no application, so a bad mapping is refused before any database work."""
    return csv_files


def simulated_clock(start: datetime) -> SettableClock:
    """A clock that moves only when the simulator (or a test) sets it; pass it to `build`."""
    return SimulatedClock(start)


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
        application.renderer,
        relay,
        DispatchPolicy(
            storefront_url=s.storefront_url,
            public_url=s.public_url,
            email_retry_horizon=timedelta(hours=s.email_retry_hours),
        ),
        worker=worker,
    )
