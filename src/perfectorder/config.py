"""Settings come from the environment once, at start-up, and are passed in from there."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal

DEFAULT_DATABASE_URL = "sqlite:///perfectorder.db"


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    max_body_bytes: int = 256 * 1024
    max_lines_per_order: int = 100
    max_quantity_per_line: int = 10_000
    # Days ahead a requested delivery date or a rescheduled date may lie (PERFECTORDER_MAX_PROMISE_DAYS).
    max_promise_days: int = 365
    price_override_channels: frozenset[str] = frozenset({"phone", "customer_service"})
    risk_review_above: Decimal = Decimal("10000")
    db_pool_size: int = 10
    db_max_overflow: int = 10
    # Seconds to wait for a new PostgreSQL connection, and for a free one from the pool, before a
    # request is answered 503 database_unavailable instead of hanging with the database.
    db_connect_timeout: int = 5
    db_pool_timeout: int = 5
    # Writers admitted to the database at once per process: beyond this, requests queue in memory
    # instead of in PostgreSQL's lock queue, where a hot SKU makes throughput collapse.
    max_concurrent_writers: int = 6
    retry_attempts: int = 8
    # When a card, wallet or transfer payment is captured: "shipment" (each parcel's value as it
    # leaves) or "manual" (POST /orders/{id}/payments/capture).
    capture_at: str = "shipment"
    page_size_limit: int = 200
    # Per API key; generous by default, an integration that loops by mistake still gets stopped.
    rate_limit_per_second: float = 200.0
    rate_limit_burst: int = 400
    redis_url: str | None = None
    cookie_secure: bool = True
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_security: str = "none"
    smtp_username: str | None = None
    smtp_password: str | None = None
    mail_from: str = "Perfect Order <orders@perfectorder.invalid>"
    template_dir: str | None = None
    nats_url: str | None = None
    storefront_url: str = "http://127.0.0.1:8000"
    # Only for data that can be generated again (the simulator): commits skip the fsync on SQLite.
    bulk_writes: bool = False
    extra: Mapping[str, str] = field(default_factory=dict)

    def with_bulk_writes(self) -> Settings:
        return replace(self, bulk_writes=True)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def get(name: str, default: str) -> str:
            return env.get(f"PERFECTORDER_{name}", default)

        d = cls()
        channels = get("PRICE_OVERRIDE_CHANNELS", ",".join(sorted(d.price_override_channels)))
        return cls(
            database_url=get("DATABASE_URL", DEFAULT_DATABASE_URL),
            max_body_bytes=int(get("MAX_BODY_BYTES", str(d.max_body_bytes))),
            max_lines_per_order=int(get("MAX_LINES_PER_ORDER", str(d.max_lines_per_order))),
            max_quantity_per_line=int(get("MAX_QUANTITY_PER_LINE", str(d.max_quantity_per_line))),
            max_promise_days=_at_least_one(
                "MAX_PROMISE_DAYS", int(get("MAX_PROMISE_DAYS", str(d.max_promise_days)))
            ),
            price_override_channels=frozenset(c.strip() for c in channels.split(",") if c.strip()),
            risk_review_above=Decimal(get("RISK_REVIEW_ABOVE", str(d.risk_review_above))),
            db_pool_size=int(get("DB_POOL_SIZE", str(d.db_pool_size))),
            db_max_overflow=int(get("DB_MAX_OVERFLOW", str(d.db_max_overflow))),
            db_connect_timeout=int(get("DB_CONNECT_TIMEOUT", str(d.db_connect_timeout))),
            db_pool_timeout=int(get("DB_POOL_TIMEOUT", str(d.db_pool_timeout))),
            max_concurrent_writers=int(get("MAX_CONCURRENT_WRITERS", str(d.max_concurrent_writers))),
            retry_attempts=int(get("RETRY_ATTEMPTS", str(d.retry_attempts))),
            capture_at=_capture_at(get("CAPTURE_AT", d.capture_at)),
            rate_limit_per_second=float(get("RATE_LIMIT_PER_SECOND", str(d.rate_limit_per_second))),
            rate_limit_burst=int(get("RATE_LIMIT_BURST", str(d.rate_limit_burst))),
            redis_url=get("REDIS_URL", "") or None,
            cookie_secure=get("COOKIE_SECURE", "true").lower() not in ("0", "false", "no"),
            smtp_host=get("SMTP_HOST", d.smtp_host),
            smtp_port=int(get("SMTP_PORT", str(d.smtp_port))),
            smtp_security=get("SMTP_SECURITY", d.smtp_security),
            smtp_username=get("SMTP_USERNAME", "") or None,
            smtp_password=get("SMTP_PASSWORD", "") or None,
            mail_from=get("MAIL_FROM", d.mail_from),
            template_dir=get("TEMPLATE_DIR", "") or None,
            nats_url=get("NATS_URL", "") or None,
            storefront_url=get("STOREFRONT_URL", d.storefront_url),
        )


def _at_least_one(name: str, value: int) -> int:
    if value < 1:
        raise ValueError(f"PERFECTORDER_{name} is a whole number of days, at least 1, not {value}")
    return value


def _capture_at(value: str) -> str:
    if value not in ("shipment", "manual"):
        raise ValueError(f"PERFECTORDER_CAPTURE_AT is 'shipment' or 'manual', not {value!r}")
    return value
