"""Settings come from the environment once, at start-up, and are passed in from there."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal

DEFAULT_DATABASE_URL = "sqlite:///perfectorder.db"
# Whole amounts, so the defaults stand in any currency, JPY included (set them with the currency).
DEFAULT_FAILURE_COSTS = "handling=4,reship=12,on_time=3"
DEFAULT_COST_CURRENCY = "EUR"
DEFAULT_STATEMENT_TIMEOUT = 5.0


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
    # Seconds PostgreSQL may spend on one statement (0: no limit). Unset, the API server and the worker
    # use DEFAULT_STATEMENT_TIMEOUT and command-line jobs (imports, reports, the simulator) none.
    db_statement_timeout: float | None = None
    # Seconds an HTTP call may take before it is answered 503 request_timeout: a frozen database
    # would otherwise hold every caller for as long as it stays frozen.
    request_timeout: float = 10.0
    # Writers admitted to the database at once per process: beyond this, requests queue in memory
    # instead of in PostgreSQL's lock queue, where a hot SKU makes throughput collapse.
    max_concurrent_writers: int = 6
    retry_attempts: int = 8
    # Hours a customer e-mail is retried after it was queued (PERFECTORDER_EMAIL_RETRY_HOURS), so a
    # mail outage makes it late rather than lost; a day at least.
    email_retry_hours: float = 48.0
    # When a card, wallet or transfer payment is captured: "shipment" (each parcel's value as it
    # leaves) or "manual" (POST /orders/{id}/payments/capture).
    capture_at: str = "shipment"
    page_size_limit: int = 200
    # `perfectorder serve` against slow clients: seconds to receive a request's head (line and
    # headers), then its body, before the connection is dropped (408 when something was received);
    # seconds an idle connection is kept between requests; and connections per process beyond
    # which requests are answered 503 at once.
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keep_alive_timeout: int = 5
    max_connections: int = 1000
    # Per API key; generous by default, an integration that loops by mistake still gets stopped.
    rate_limit_per_second: float = 200.0
    rate_limit_burst: int = 400
    redis_url: str | None = None
    # A PostgreSQL streaming replica for reports, dashboard pages and the order board
    # (PERFECTORDER_READ_DATABASE_URL); writes and what a caller reads back after writing stay on
    # the primary. Unset: everything on the primary.
    read_database_url: str | None = None
    # Dashboard logins. Every attempt from one address takes a token (a burst, then a steady rate);
    # failed attempts at one name count in a sliding window, from one address and from all of them.
    login_attempts_per_minute: float = 10.0
    login_attempts_burst: int = 10
    login_failures_per_name_and_client: int = 5
    login_failures_per_name: int = 20
    login_failure_window_seconds: int = 900
    # Each argon2 hash holds 64 MiB while it runs: at most this many at once (about one per core),
    # a bounded wait for a slot, and a bounded queue; beyond them the login is answered 503.
    login_hashing_slots: int = 2
    login_hashing_wait_seconds: float = 2.0
    login_hashing_queue: int = 16
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
    # Where customers reach this server: the signed order-status links in e-mails start with it.
    public_url: str = "http://127.0.0.1:8000"
    # How long a status link works after the e-mail that carries it was sent.
    status_link_days: int = 120
    # Carrier tracking pages, "DHL=https://carrier.example/track?n={number},UPS=...", linked from
    # the status page and the e-mails; a carrier without one shows its tracking number only.
    tracking_urls: str = ""
    # Days after delivery a customer may ask for a return on the status page: "30,furniture=14".
    return_windows: str = "30"
    # New promises count their lane's learned transit at this quantile (p50, p90, p95) once the lane
    # has `transit_min_parcels` deliveries in the last `transit_window_days`; "configured" never does.
    promise_quantile: str = "p90"
    transit_window_days: int = 56
    transit_min_parcels: int = 30
    lane_postal_prefix: int = 2  # a lane's destination: country and this many postal-code characters
    # Settled orders placed this many days back train the promise-risk model (daily, by the worker).
    risk_window_days: int = 180
    # Webhook receivers allowed although not public (hosts, addresses or CIDRs), for local
    # receivers and tests; everything else must be a public address.
    webhook_allow: tuple[str, ...] = ()
    # Hours a rotated-out webhook secret still signs deliveries, next to the new one.
    webhook_secret_grace_hours: float = 24.0
    # Only for data that can be generated again (the simulator): commits skip the fsync on SQLite.
    bulk_writes: bool = False
    # Each channel's on-time terms for orders whose customer has none (PERFECTORDER_ON_TIME_TERMS,
    # "phone=time:30,marketplace=date"); unnamed channels are judged by date.
    on_time_terms: str = ""
    # What a failure costs (metrics.failure_cost): "handling=4.00,reship=12.00,on_time=3.00", per
    # failed order, per reshipment and per failed order of a component, in the cost currency.
    failure_costs: str = DEFAULT_FAILURE_COSTS
    failure_cost_currency: str = DEFAULT_COST_CURRENCY
    # Percent beyond a purchase order line's quantity that a receipt may still accept
    # (PERFECTORDER_PO_OVER_RECEIPT); past it a receipt is refused 409 over_receipt.
    po_over_receipt_percent: Decimal = Decimal(0)
    # Days a delivered message stays in the outbox before the worker moves it to the archive.
    outbox_retention_days: int = 30
    extra: Mapping[str, str] = field(default_factory=dict)

    def with_bulk_writes(self) -> Settings:
        return replace(self, bulk_writes=True)

    def for_jobs(self) -> Settings:
        """Imports, reports and the simulator run long statements on purpose."""
        return self if self.db_statement_timeout is not None else replace(self, db_statement_timeout=0)

    @property
    def statement_timeout(self) -> float:
        return DEFAULT_STATEMENT_TIMEOUT if self.db_statement_timeout is None else self.db_statement_timeout

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        read: list[str] = []

        def get(name: str, default: str) -> str:
            read.append(name)
            return env.get(f"PERFECTORDER_{name}", default)

        try:
            return cls._from(get)
        except ValueError as e:
            # int("abc") says nothing of where "abc" came from; the setting read last does.
            if not read or str(e).startswith("PERFECTORDER_"):
                raise
            raise ValueError(f"PERFECTORDER_{read[-1]}: {e}") from None

    @classmethod
    def _from(cls, get: Callable[[str, str], str]) -> Settings:
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
            db_statement_timeout=_optional_float(get("DB_STATEMENT_TIMEOUT", "")),
            request_timeout=float(get("REQUEST_TIMEOUT", str(d.request_timeout))),
            max_concurrent_writers=int(get("MAX_CONCURRENT_WRITERS", str(d.max_concurrent_writers))),
            retry_attempts=int(get("RETRY_ATTEMPTS", str(d.retry_attempts))),
            email_retry_hours=_email_retry_hours(float(get("EMAIL_RETRY_HOURS", str(d.email_retry_hours)))),
            header_timeout=float(get("HEADER_TIMEOUT", str(d.header_timeout))),
            body_timeout=float(get("BODY_TIMEOUT", str(d.body_timeout))),
            keep_alive_timeout=int(get("KEEP_ALIVE_TIMEOUT", str(d.keep_alive_timeout))),
            max_connections=int(get("MAX_CONNECTIONS", str(d.max_connections))),
            capture_at=_capture_at(get("CAPTURE_AT", d.capture_at)),
            on_time_terms=get("ON_TIME_TERMS", ""),  # read by bootstrap, which says what is wrong
            failure_costs=get("FAILURE_COSTS", d.failure_costs),  # read by bootstrap, likewise
            failure_cost_currency=get("FAILURE_COST_CURRENCY", d.failure_cost_currency),
            rate_limit_per_second=float(get("RATE_LIMIT_PER_SECOND", str(d.rate_limit_per_second))),
            rate_limit_burst=int(get("RATE_LIMIT_BURST", str(d.rate_limit_burst))),
            redis_url=get("REDIS_URL", "") or None,
            read_database_url=get("READ_DATABASE_URL", "") or None,
            login_attempts_per_minute=float(
                get("LOGIN_ATTEMPTS_PER_MINUTE", str(d.login_attempts_per_minute))
            ),
            login_attempts_burst=int(get("LOGIN_ATTEMPTS_BURST", str(d.login_attempts_burst))),
            login_failures_per_name_and_client=int(
                get("LOGIN_FAILURES_PER_NAME_AND_CLIENT", str(d.login_failures_per_name_and_client))
            ),
            login_failures_per_name=int(get("LOGIN_FAILURES_PER_NAME", str(d.login_failures_per_name))),
            login_failure_window_seconds=int(
                get("LOGIN_FAILURE_WINDOW_SECONDS", str(d.login_failure_window_seconds))
            ),
            login_hashing_slots=int(get("LOGIN_HASHING_SLOTS", str(d.login_hashing_slots))),
            login_hashing_wait_seconds=float(
                get("LOGIN_HASHING_WAIT_SECONDS", str(d.login_hashing_wait_seconds))
            ),
            login_hashing_queue=int(get("LOGIN_HASHING_QUEUE", str(d.login_hashing_queue))),
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
            public_url=get("PUBLIC_URL", d.public_url).rstrip("/"),
            status_link_days=int(get("STATUS_LINK_DAYS", str(d.status_link_days))),
            tracking_urls=get("TRACKING_URLS", d.tracking_urls),
            return_windows=get("RETURN_WINDOWS", d.return_windows),
            promise_quantile=get("PROMISE_QUANTILE", d.promise_quantile).strip().lower(),
            transit_window_days=int(get("TRANSIT_WINDOW_DAYS", str(d.transit_window_days))),
            transit_min_parcels=int(get("TRANSIT_MIN_PARCELS", str(d.transit_min_parcels))),
            lane_postal_prefix=int(get("LANE_POSTAL_PREFIX", str(d.lane_postal_prefix))),
            risk_window_days=int(get("RISK_WINDOW_DAYS", str(d.risk_window_days))),
            webhook_allow=tuple(h.strip() for h in get("WEBHOOK_ALLOW", "").split(",") if h.strip()),
            webhook_secret_grace_hours=float(
                get("WEBHOOK_SECRET_GRACE_HOURS", str(d.webhook_secret_grace_hours))
            ),
            po_over_receipt_percent=_percent(
                "PO_OVER_RECEIPT", get("PO_OVER_RECEIPT", str(d.po_over_receipt_percent))
            ),
            outbox_retention_days=_days("OUTBOX_RETENTION_DAYS", get("OUTBOX_RETENTION_DAYS", "30")),
        )


def _days(name: str, value: str) -> int:
    days = int(value)
    if days < 1:
        raise ValueError(f"PERFECTORDER_{name} is a number of days, at least 1, not {value!r}")
    return days


def _percent(name: str, value: str) -> Decimal:
    try:
        percent = Decimal(value.strip())
    except ArithmeticError:
        percent = Decimal(-1)
    if not percent.is_finite() or not (0 <= percent <= 1000):
        raise ValueError(f"PERFECTORDER_{name} is a percentage from 0 to 1000, not {value!r}")
    return percent


def _optional_float(value: str) -> float | None:
    return float(value) if value.strip() else None


def _at_least_one(name: str, value: int) -> int:
    if value < 1:
        raise ValueError(f"PERFECTORDER_{name} is a whole number of days, at least 1, not {value}")
    return value


def _email_retry_hours(value: float) -> float:
    # Shorter, an outage of an afternoon turns late messages into missing ones again.
    if not value >= 24:
        raise ValueError(f"PERFECTORDER_EMAIL_RETRY_HOURS is at least 24 (a day), not {value}")
    return value


def _capture_at(value: str) -> str:
    if value not in ("shipment", "manual"):
        raise ValueError(f"PERFECTORDER_CAPTURE_AT is 'shipment' or 'manual', not {value!r}")
    return value
