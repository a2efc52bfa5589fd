"""API keys, dashboard users and sessions, and the audit log.

API keys are long random secrets, so one SHA-256 is the right hash for them (fast lookups, nothing
to brute-force); passwords are short human secrets and get argon2 through the PasswordHasher port.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from perfectorder.domain.access import TENANT_ROLES, Principal, Role
from perfectorder.domain.errors import Conflict, InvalidInput, Locked, NotFound, Unauthenticated
from perfectorder.domain.values import Channel
from perfectorder.services.context import ServiceContext, read, run_transaction
from perfectorder.services.ports import ApiKeyRecord, AuditEntry, AuditRecord, PasswordHasher, UnitOfWork

KEY_PREFIX = "po_"
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class IssuedKey:
    record: ApiKeyRecord
    secret: str  # shown once, never stored


@dataclass(frozen=True, slots=True)
class IssuedSession:
    token: str
    csrf_token: str
    expires_at: datetime
    principal: Principal


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(
    ctx: ServiceContext,
    *,
    name: str,
    role: Role,
    channel: str | None = None,
    customer_id: int | None = None,
    created_by: str = "cli",
) -> IssuedKey:
    _check_key_scope(role, channel, customer_id)
    prefix = secrets.token_hex(4)
    secret = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"

    def work(uow: UnitOfWork) -> IssuedKey:
        if customer_id is not None and uow.customers.get(customer_id) is None:
            raise NotFound("customer_not_found", f"no customer has id {customer_id}", field="customer")
        record = ApiKeyRecord(
            0,
            name.strip() or role.value,
            prefix,
            digest(secret),
            role.value,
            channel,
            customer_id,
            ctx.clock.now(),
            created_by,
            None,
        )
        key_id = uow.access.add_key(record)
        return IssuedKey(replace(record, id=key_id), secret)

    return run_transaction(ctx, work)


def _check_key_scope(role: Role, channel: str | None, customer_id: int | None) -> None:
    if role is Role.CHANNEL and channel not in {c.value for c in Channel}:
        raise InvalidInput(
            "channel_required", "a channel key needs --channel (web, marketplace, ...)", field="channel"
        )
    if role is Role.CUSTOMER and customer_id is None:
        raise InvalidInput("customer_required", "a customer key needs --customer ID", field="customer")
    if role not in (Role.CHANNEL,) and channel is not None:
        raise InvalidInput("scope_not_allowed", "only channel keys are bound to a channel", field="channel")
    if role not in (Role.CUSTOMER,) and customer_id is not None:
        raise InvalidInput(
            "scope_not_allowed", "only customer keys are bound to a customer", field="customer"
        )


def revoke_api_key(ctx: ServiceContext, key_id: int) -> None:
    def work(uow: UnitOfWork) -> None:
        if not uow.access.revoke_key(key_id, ctx.clock.now()):
            raise NotFound("key_not_found", f"no active key has id {key_id}", field="key_id")

    run_transaction(ctx, work)


def list_api_keys(ctx: ServiceContext) -> list[ApiKeyRecord]:
    return read(ctx, lambda uow: uow.access.keys())


def authenticate_key(ctx: ServiceContext, secret: str) -> Principal:
    parts = secret.split("_")
    if len(parts) < 3 or not secret.startswith(KEY_PREFIX):
        raise _bad_key()
    record = read(ctx, lambda uow: uow.access.key_by_prefix(parts[1]))
    if (
        record is None
        or record.revoked_at is not None
        or not hmac.compare_digest(record.secret_hash, digest(secret))
    ):
        raise _bad_key()
    return Principal(
        name=record.name,
        role=Role(record.role),
        channel=record.channel,
        customer_id=record.customer_id,
        key_id=record.id,
    )


def _bad_key() -> Unauthenticated:
    return Unauthenticated("invalid_api_key", "the API key is unknown or revoked; ask an admin for a new one")


def create_user(
    ctx: ServiceContext, hasher: PasswordHasher, *, username: str, password: str, role: Role
) -> int:
    if role not in STAFF:
        raise _not_for_users()
    if len(password) < 12:
        raise InvalidInput("weak_password", "use a password of at least 12 characters", field="password")
    if not username.strip():
        raise InvalidInput("username_required", "give the user a name", field="username")
    password_hash = hasher.hash(password)

    def work(uow: UnitOfWork) -> int:
        user_id = uow.access.add_user(username.strip(), password_hash, role.value, ctx.clock.now())
        if user_id is None:
            raise Conflict("duplicate_user", f"user {username} exists already", field="username")
        return user_id

    return run_transaction(ctx, work)


# Dashboard users are our staff. A channel or a customer portal is a tenant: it gets an API key,
# which carries its channel or customer; a session carries neither and would see every tenant.
STAFF = frozenset(set(Role) - TENANT_ROLES)


def _not_for_users() -> InvalidInput:
    return InvalidInput(
        "role_not_for_users",
        "dashboard users are staff (admin, operator or analyst); give a channel or a customer an API key",
        field="role",
    )


def login(ctx: ServiceContext, hasher: PasswordHasher, *, username: str, password: str) -> IssuedSession:
    """Opens a session; after MAX_FAILED_LOGINS failures in a row the account locks for a while."""
    now = ctx.clock.now()
    user = read(ctx, lambda uow: uow.access.user_by_name(username.strip()))
    if user is not None and user.locked_until is not None and user.locked_until > now:
        raise _locked(user.locked_until, now)
    # Verify even for unknown users so the answer time does not reveal which names exist.
    valid = hasher.verify(user.password_hash if user else _DUMMY_HASH, password) and user is not None
    if not valid:
        if user is not None:
            _record_failure(ctx, user.id, user.failed_logins + 1, now)
        raise Unauthenticated("invalid_credentials", "wrong username or password")
    assert user is not None
    if Role(user.role) not in STAFF:
        raise _not_for_users()
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires = now + SESSION_LIFETIME

    def work(uow: UnitOfWork) -> None:
        uow.access.reset_login_failures(user.id)
        uow.access.add_session(digest(token), user.id, csrf, now, expires)

    run_transaction(ctx, work)
    return IssuedSession(
        token, csrf, expires, Principal(name=user.username, role=Role(user.role), user_id=user.id)
    )


# An argon2 hash of a random password, so unknown users cost as much time as known ones.
_DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$UKSWBgWUfcExD1BO8qgRxg$1+y0vEnI8+cHpvlpuQIDxEccgUj/oVpSixImVlkut28"
)


def _record_failure(ctx: ServiceContext, user_id: int, failures: int, now: datetime) -> None:
    locked_until = now + LOCKOUT if failures >= MAX_FAILED_LOGINS else None
    run_transaction(ctx, lambda uow: uow.access.record_login_failure(user_id, locked_until))
    if locked_until is not None:
        raise _locked(locked_until, now)


def _locked(until: datetime, now: datetime) -> Locked:
    seconds = max(int((until - now).total_seconds()), 1)
    return Locked(
        "account_locked",
        f"too many failed logins; try again in {seconds // 60 + 1} minutes",
        details={"retry_after_seconds": seconds},
    )


def session_principal(ctx: ServiceContext, token: str) -> tuple[Principal, str]:
    """The caller behind a session cookie, and the CSRF token their forms must send back."""
    record = read(ctx, lambda uow: uow.access.session(digest(token)))
    now = ctx.clock.now()
    if record is None or record.ended_at is not None or record.expires_at <= now:
        raise Unauthenticated("session_expired", "the session has ended; log in again")
    user = record.user
    if Role(user.role) not in STAFF:
        # A session has no channel or customer to scope it to, so it would see every tenant.
        raise Unauthenticated("session_expired", "the session has ended; log in again")
    return Principal(name=user.username, role=Role(user.role), user_id=user.id), record.csrf_token


def logout(ctx: ServiceContext, token: str) -> None:
    run_transaction(ctx, lambda uow: uow.access.end_session(digest(token), ctx.clock.now()))


def record_audit(ctx: ServiceContext, entry: AuditEntry) -> None:
    run_transaction(ctx, lambda uow: uow.access.add_audit(entry))


def audit_page(ctx: ServiceContext, *, before_id: int | None, limit: int) -> list[AuditRecord]:
    return read(ctx, lambda uow: uow.access.audit(before_id=before_id, limit=limit))
